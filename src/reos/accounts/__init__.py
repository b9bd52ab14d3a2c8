"""Organisations, users, roles, API keys, authentication and the audit log."""
