"""Scenario replay: a YAML file of setup, steps and expectations, replayed
through the HTTP API by :mod:`app.client` (docs/scenarios.md)."""
