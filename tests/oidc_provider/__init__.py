"""A real OpenID Connect provider for the tests: django-oidc-provider in a second process.

A tiny Django project of its own (settings.py, urls.py, a login page), with its SQLite file in
a temporary directory, an RSA key from its `creatersakey` command, users and clients made by
`python -m tests.oidc_provider.manage`, served by runserver on a free port.
tests/oidc_provider/fixtures.py starts it for a pytest session and signs people in through it.
"""
