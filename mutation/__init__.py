"""`make mutation`: mutmut over the modules that hold money rules (docs/testing.md)."""
