"""The web console: HTML pages over the same domain functions as the API.

Signed in with an API key; the session cookie keeps only the key's hash (never
the key), so a revoked key signs the console out at its next request. Every
form carries a CSRF token bound to the session. Writes go through
:func:`app.writes.write`, so they land in the audit log like API calls.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for

from wallets.access import keys
from wallets.core import errors
from wallets.ledger.money import format_amount

from ..errors import status_for
from ..state import database
from ..writes import record_refused
from . import charts, formats

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)

CSRF_FIELD = "csrf_token"
SECRET_FILE_NAME = "console-secret-key"


def init_app(app: Flask, *, secret_key: str | None, secret_dir: Path, secure_cookie: bool) -> None:
    """Configure the session cookie and register the console."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key or load_or_create_secret(
            secret_dir / SECRET_FILE_NAME
        )
    app.config.update(
        SESSION_COOKIE_NAME="ecny_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookie,
        SESSION_COOKIE_PATH="/console",
    )
    app.jinja_env.filters["money"] = format_amount
    app.jinja_env.filters["cny"] = formats.cny
    app.jinja_env.filters["in_currency"] = formats.in_currency
    app.jinja_env.filters["local"] = formats.local_time
    app.jinja_env.globals["deadline"] = formats.deadline
    app.jinja_env.globals["chart_patterns"] = charts.DEFS
    app.register_blueprint(bp)


def load_or_create_secret(path: Path) -> str:
    """The session signing secret: a file outside the database (like the
    central bank's signing key), made once with owner-only permissions. Made
    whole under a temporary name, then linked into place: two processes
    starting at once agree on one secret, and none reads a half-written file."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won: use its secret
    finally:
        tmp.unlink()
    return path.read_text().strip()


# ---- who is signed in --------------------------------------------------------------

OPEN_ENDPOINTS = {"console.sign_in", "console.static"}


@bp.before_request
def _principal_and_csrf():
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    if request.method == "POST" and not _csrf_ok():
        return render_template(
            "console/error.html",
            title="Refused",
            message=(
                "The form's security token is missing or stale. Reload the page and try again."
            ),
        ), 400
    g.principal = None
    key_hash = session.get("key_hash")
    if key_hash:
        g.principal = database().read(keys.authenticate_hash, key_hash)
        if g.principal is None:
            session.pop("key_hash", None)
    if g.principal is None and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("console.sign_in", next=request.path))
    return None


def _csrf_ok() -> bool:
    sent = request.form.get(CSRF_FIELD, "")
    return bool(sent) and hmac.compare_digest(sent, session.get(CSRF_FIELD, ""))


@bp.app_template_global()
def csrf_token() -> str:
    return session.get(CSRF_FIELD, "")


@bp.errorhandler(errors.DomainError)
def _domain_error(exc: errors.DomainError):
    status = status_for(exc.code)
    return render_template("console/error.html", title=exc.code, message=exc.detail), status


def page(*roles: str) -> Callable:
    """A page (and its actions) for these roles only; others are told so."""

    def decorator(fn: Callable) -> Callable:
        fn.console_roles = roles  # type: ignore[attr-defined]

        @wraps(fn)
        def view(*args: Any, **kwargs: Any):
            if g.principal.role not in roles:
                if request.method == "POST":  # a refused action is logged, as in the API
                    record_refused(403, errors.FORBIDDEN_ROLE)
                return render_template(
                    "console/error.html",
                    title="Not for this key",
                    message=f"A {g.principal.role} key does not see this page.",
                ), 403
            return fn(*args, **kwargs)

        view.console_roles = roles  # type: ignore[attr-defined]
        return view

    return decorator


from . import pages  # noqa: E402,F401  - registers the views on bp
