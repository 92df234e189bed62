"""The API for case-management systems (/api/v1/): tokens, one-time links, records, webhooks.

Django REST framework with drf-spectacular (OpenAPI 3.0): see docs/api.md.
"""
