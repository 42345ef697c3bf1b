"""HTTP routes under /api/v1: thin translations to api.services."""
