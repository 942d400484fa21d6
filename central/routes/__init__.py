"""The platform's routers, one module per area; ``central.app.ROUTERS`` lists them."""
