"""The data layer: schema, engines and query functions that take a session and never commit."""
