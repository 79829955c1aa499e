"""Flask CLI commands: thin wrappers over app.services."""
