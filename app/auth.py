"""Bearer API keys and role checks.

Authentication runs before every /v1 request. The role check is declared on
each view with :func:`roles`; scope (which operator, which casino) is the
domain's business: outside it, things do not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, request

from wallets.access import keys
from wallets.core import errors
from wallets.core.principal import Principal, a_role

from .state import database


def register(app: Flask) -> None:
    @app.before_request
    def _authenticate():
        if not request.path.startswith("/v1/"):
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise errors.DomainError(errors.UNAUTHORIZED, "send Authorization: Bearer <API key>")
        principal = keys.authenticate_in(database(), secret.strip())
        if principal is None:
            raise errors.DomainError(errors.UNAUTHORIZED, "unknown or revoked API key")
        g.principal = principal
        # Deny by default: a /v1 view that declares no roles is closed to all.
        view = app.view_functions.get(request.endpoint or "")
        allowed = getattr(view, "allowed_roles", ())
        if view is not None and principal.role not in allowed:
            raise errors.DomainError(
                errors.FORBIDDEN_ROLE, f"{a_role(principal.role)} key may not do this"
            )
        return None


def current_principal() -> Principal:
    return g.principal


def roles(*allowed: str) -> Callable:
    """Declare which roles may call a view; the check runs before the body is
    parsed, so a caller without the role learns nothing about the payload."""

    def decorator(fn: Callable) -> Callable:
        fn.allowed_roles = allowed  # type: ignore[attr-defined]
        doc = (fn.__doc__ or "").strip()
        fn.__doc__ = (
            f"{doc}\n\nRoles: {', '.join(allowed)}." if doc else f"Roles: {', '.join(allowed)}."
        )
        return fn

    return decorator
