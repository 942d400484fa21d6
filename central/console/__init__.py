"""The operator console at ``/console``: server-rendered pages over central's
storage and reports (``views``, its router is listed in ``central.app.ROUTERS``),
operator accounts (``accounts``) and the console's own queries and audit
trail (``queries``). See docs/console.md."""
