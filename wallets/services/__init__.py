"""The use cases of the sandbox, each a function of a command run as one
database transaction (command.py). The HTTP blueprints, the web console, the
``ecny`` command line and the scenario runner (through the API) all write
through :func:`execute`; ``app/`` keeps parsing, authentication and rendering."""

from .command import Command, Outcome, Policy, execute, read, record_failure, record_refusal

__all__ = [
    "Command",
    "Outcome",
    "Policy",
    "execute",
    "read",
    "record_failure",
    "record_refusal",
]
