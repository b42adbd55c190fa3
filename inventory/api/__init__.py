"""REST API v1: the catalogue (countries, weapon systems), change history, and the shared
base every API module of both apps builds on (errors, strict query parameters, ETags, CSV).

`transfers.api` imports from here; nothing here imports `transfers`.
"""
