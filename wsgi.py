"""`gunicorn wsgi:app` from the checkout — the sandbox as a WSGI application
(`ecny serve` runs `gunicorn 'app:create_app()'`, which needs no checkout)."""

from app import create_app

app = create_app()
