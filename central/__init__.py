"""The central platform: its contract (openapi.yaml) and a sandbox server."""
