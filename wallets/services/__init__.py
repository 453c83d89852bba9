"""Use cases run in a unit of work, called by the HTTP API, the CLI, the console and the scenario runner."""
