"""Storage: engine, sessions bound to an organisation, migrations."""
