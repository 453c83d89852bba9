"""The base every area stands on: the database and its schema, settings, the sandbox clock, errors, principals."""
