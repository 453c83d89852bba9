"""`gunicorn wsgi:app` — the sandbox as a WSGI application."""

from app import create_app

app = create_app()
