"""The production server (`ecny serve`)."""

from __future__ import annotations

import os
import sys

import click

from .gunicorn_hooks import DISPATCH_ENV


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--dispatch/--no-dispatch",
    default=False,
    help="Deliver webhooks from a thread of the server (`make run`); "
    "without it, run `ecny events dispatch` beside the server.",
)
def serve(host: str, port: int, workers: int, dispatch: bool) -> None:
    """Serve the API under gunicorn (docs at /docs)."""
    click.echo(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    os.environ[DISPATCH_ENV] = "1" if dispatch else "0"
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "--config",
            "python:app.cli.gunicorn_hooks",
            # The app factory of the package, not the checkout's wsgi.py: an
            # installed wheel has no wsgi.py, and the current directory may be anywhere.
            "app:create_app()",
        ],
    )
