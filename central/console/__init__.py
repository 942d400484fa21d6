"""The operator console at ``/console``: server-rendered pages over central's
storage, rollups and reports (``views``, listed in ``central.app.ROUTERS``),
operator accounts (``accounts``) and the console's own queries and audit
trail (``queries``); its tables come with migration 3. See docs/console.md."""
