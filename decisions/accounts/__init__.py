"""Accounts: sign-in throttling, passwords, session limits, re-authentication, administration.

The map is in docs/accounts.md. Writes are in services.py (one transaction with the audit event);
who may administer whom is decided in decisions.access.
"""
