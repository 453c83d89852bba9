"""The HTTP side of a write: every state-changing request becomes a
:class:`wallets.services.Command` (who, what, its Idempotency-Key, its body)
run by :func:`wallets.services.execute` as one database transaction — the key
claimed, the work done, the answer stored and the call recorded in the audit
log, committed together. This module builds the command from the request and
the response from the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from flask import Flask, Response, g, request
from marshmallow import Schema
from werkzeug.exceptions import HTTPException

from wallets import services
from wallets.core import errors
from wallets.core.db import Tx

from .state import database, settings

log = logging.getLogger(__name__)

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def write(
    use_case: Callable[[Tx], Any],
    schema: type[Schema] | Schema | None,
    *,
    status: int = 201,
    present: Callable[[Tx, Any], Any] | None = None,
    after: Callable[[Any], None] | None = None,
    headers: Callable[[Tx, Any], dict[str, str]] | None = None,
    stored: Callable[[Any], Any] | None = None,
) -> Response:
    """Run ``use_case`` as the request's one write transaction and answer with
    ``schema`` dumped from its (presented) result (``schema`` None: ``present``
    builds the response document itself). ``after`` runs with the result
    once it is committed (not on a replay): for work that must not hold the
    transaction open, such as an export job. ``headers(tx, result)`` gives
    response headers of the answer's own (a resource's ETag), in the write's
    transaction: they are stored with the answer, and a replay sends them as
    the first answer did. ``stored`` gives what a replay with the
    same Idempotency-Key answers instead of the whole document (a new key's
    secret is left out)."""
    out = _instance(schema) if isinstance(schema, type) else schema
    cfg = settings()
    g.audit_recorded = True

    def render(tx: Tx, result: Any) -> Any:
        presented = present(tx, result) if present else result
        # None: ``present`` already gives the response document (a batch's
        # thousands of results, built in the documented schema's shape).
        return presented if out is None else out.dump(presented)

    outcome = services.execute(
        database(),
        command(),
        use_case,
        status=status,
        render=render,
        stored=stored,
        headers=headers,
        policy=services.Policy(
            checkpoint_hours=cfg.checkpoint_hours,
            signing_key_path=cfg.signing_key_path,
            stale_after=timedelta(seconds=cfg.idempotency_stale_seconds),
        ),
    )
    if outcome.replayed:
        response = Response(
            outcome.body, outcome.status, mimetype="application/json", headers=outcome.headers
        )
        response.headers["Idempotent-Replayed"] = "true"
        return response
    # ``result`` is None when a first attempt's COMMIT was applied though its
    # connection died: the stored answer is sent, with its stored headers,
    # without what needs the result (an export job so committed stays queued).
    if after is not None and outcome.result is not None:
        after(outcome.result)
    return Response(
        outcome.body, outcome.status, mimetype="application/json", headers=outcome.headers
    )


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per response schema (dumping keeps no state in it)."""
    return schema()


def read(fn: Callable[[Tx], Any]) -> Any:
    """Run ``fn`` in a read transaction that sees due holds released
    (:func:`wallets.services.read`)."""
    return services.read(database(), fn)


# ---- the audit log ------------------------------------------------------------


def command() -> services.Command:
    """The request as a command of the services."""
    return services.Command(
        actor=getattr(g, "principal", None),
        method=request.method,
        path=request.path,
        payload=_body(),
        idempotency_key=request.headers.get("Idempotency-Key"),
        request_id=getattr(g, "request_id", None),
    )


def _body() -> Any:
    """The request's JSON, or None: a body over the size limit (413) or nested
    past the parser's depth must not turn the audit record of its refusal into a 500."""
    if "json_body" in g:
        return g.json_body
    try:
        return request.get_json(silent=True)
    except (HTTPException, RecursionError):
        return None


def record_refused(status: int, error_code: str) -> None:
    """Record a state-changing call refused before its work by a check of the
    caller's own (the web console's role check)."""
    services.record_refusal(database(), command().call, status, error_code)
    g.audit_recorded = True


def register(app: Flask) -> None:
    """Record state-changing calls refused before they reached :func:`write`
    (role, validation, malformed body). Calls without a valid API key are not
    recorded: there is nobody to attribute them to (the server log has them)."""

    @app.after_request
    def _audit_unreached(response: Response) -> Response:
        if (
            request.method in STATE_CHANGING
            and request.path.startswith("/v1/")
            and getattr(g, "principal", None) is not None
            and not getattr(g, "audit_recorded", False)
        ):
            body = response.get_json(silent=True) if response.is_json else None
            code = body.get("code") if isinstance(body, dict) else None
            code = code if code in errors.CODES else None
            services.record_refusal(database(), command().call, response.status_code, code)
            g.audit_recorded = True
        return response
