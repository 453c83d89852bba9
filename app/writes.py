"""Every state-changing request goes through :func:`write`: one database
transaction with retries, the Idempotency-Key honoured, the response stored
with the work it describes, and the call recorded in the audit log — in the
same transaction when it succeeds, in a small one of its own when it is
refused or fails (or replayed)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask, Response, g, request
from marshmallow import Schema
from werkzeug.exceptions import HTTPException

from wallets import idempotency
from wallets.audit import checkpoints
from wallets.audit import log as audit_log
from wallets.core import errors
from wallets.core.db import Tx, loggable
from wallets.retail import holds

from .errors import status_for
from .state import database, settings

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def write(
    use_case: Callable[[Tx], Any],
    schema: type[Schema] | Schema | None,
    *,
    status: int = 201,
    present: Callable[[Tx, Any], Any] | None = None,
    after: Callable[[Any], None] | None = None,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    """Run ``use_case`` as the request's one write transaction and answer with
    ``schema`` dumped from its (presented) result (``schema`` None: ``present``
    builds the response document itself). ``after`` runs with the result
    once it is committed (not on a replay): for work that must not hold the
    transaction open, such as an export job. ``headers`` gives response headers
    from the result (a wallet's ETag)."""
    db = database()
    cfg = settings()
    out = _instance(schema) if isinstance(schema, type) else schema
    call = _call()
    g.audit_recorded = True
    claim = None
    try:
        key = call.idempotency_key
        if key is None:
            # Holds whose deadline the sandbox clock has passed are released
            # first, in a transaction of their own, so that this write sees
            # their funds back.
            holds.release_expired_if_due(db)
        else:
            if not IDEMPOTENCY_KEY_RE.fullmatch(key):
                holds.release_expired_if_due(db)
                raise errors.DomainError(
                    errors.VALIDATION_FAILED,
                    "Idempotency-Key must be 1-255 printable ASCII characters",
                    errors={"Idempotency-Key": ["must be 1-255 printable ASCII characters"]},
                )
            print_ = idempotency.fingerprint(request.method, request.path, call.body)
            stale_after = timedelta(seconds=settings().idempotency_stale_seconds)
            # The due holds are released in the claim's transaction: committed
            # before the work starts, as above, in one transaction less. The
            # claim's instant is taken once: every attempt of it is this request.
            found = db.write(
                _release_and_claim,
                g.principal.key_id,
                key,
                print_,
                stale_after,
                datetime.now(UTC),
            )
            if isinstance(found, errors.DomainError):
                raise found  # refused; the releases committed all the same
            if isinstance(found, idempotency.Replay):
                return _replay(call, found)
            claim = found

        result_box: list[Any] = []
        checkpoint_due: list[bool] = []
        attempts = [0]

        def work(tx: Tx) -> str:
            attempts[0] += 1
            if claim is not None and attempts[0] > 1:
                idempotency.ensure_ours(tx, claim)
            result = use_case(tx)
            result_box[:] = [result]
            presented = present(tx, result) if present else result
            # None: ``present`` already gives the response document (a batch's
            # thousands of results, built in the documented schema's shape).
            dumped = presented if out is None else out.dump(presented)
            # A newline ends it, as Flask's own JSON answers; a replay sends it as stored.
            body = json.dumps(dumped, separators=(",", ":")) + "\n"
            if claim is not None:
                idempotency.complete(tx, claim, status, body)
            audit_log.record(tx, call, status, resource=_resource_of(dumped))
            checkpoint_due[:] = [checkpoints.is_due(tx, cfg.checkpoint_hours)]
            return body

        try:
            body = db.write(work)
        except idempotency.ClaimLost as lost:
            # A retry took the claim over while this request ran (it outlived
            # the stale window), or this request's own first attempt committed
            # though its connection died before saying so: the stored answer
            # stands. (``after`` does not run again: an export job whose start
            # was lost so stays queued.)
            return _replay(call, db.read(idempotency.outcome, lost.claim))
        except BaseException:
            if claim is not None:
                idempotency.release(db, claim)
            raise
    except errors.DomainError as exc:
        _record_apart(call, status_for(exc.code), error_code=exc.code)
        raise
    except Exception:
        _record_apart(call, 500, error_code="internal_error")
        raise
    # The scheduled checkpoint of the journal head, if this write is the first
    # of its period of sandbox time (wallets/audit/checkpoints.py); never fails it.
    if checkpoint_due[0]:
        checkpoints.take_if_due(db, cfg.signing_key_path, cfg.checkpoint_hours)
    if after is not None:
        after(result_box[0])
    extra = headers(result_box[0]) if headers is not None else {}
    return Response(body, status, mimetype="application/json", headers=extra)


def _replay(call: audit_log.Call, found: idempotency.Replay) -> Response:
    _record_apart(call, found.status, replayed=True, resource=_resource(found.body))
    response = Response(found.body, found.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per response schema (dumping keeps no state in it)."""
    return schema()


def _release_and_claim(
    tx: Tx, *claim_args: Any
) -> idempotency.Claim | idempotency.Replay | errors.DomainError:
    """Release the due holds and claim the key; a refused claim (key reused, or
    in flight) is returned, not raised, so that the releases still commit."""
    holds.release_expired_if_due_in(tx)
    try:
        return idempotency.claim_in(tx, *claim_args)
    except errors.DomainError as refused:
        return refused


def read(fn: Callable[[Tx], Any]) -> Any:
    """Run ``fn`` in a read transaction that sees what a write would: holds whose
    deadline the sandbox clock has passed are released first (as every write
    does), so that no read shows them pending. Their expiry is the clock's doing,
    not the reader's; it costs an index probe in the read's own transaction, and
    a write transaction only on the first read after a deadline."""
    db = database()
    due = object()
    while (found := db.read(lambda tx: due if holds.any_due(tx) else fn(tx))) is due:
        db.write(holds.release_expired)
    return found


# ---- the audit log ------------------------------------------------------------


def _call() -> audit_log.Call:
    return audit_log.Call(
        principal=getattr(g, "principal", None),
        method=request.method,
        path=request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
        request_id=getattr(g, "request_id", None),
        body=_body(),
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


def _resource(body: str) -> str | None:
    """The id (or code) of what a write created or changed, from its response."""
    try:
        return _resource_of(json.loads(body))
    except ValueError:
        return None


def _resource_of(data: Any) -> str | None:
    if isinstance(data, dict):
        for name in ("id", "code"):
            if isinstance(data.get(name), str | int) and not isinstance(data.get(name), bool):
                return str(data[name])
    return None


def _record_apart(call: audit_log.Call, status: int, **kwargs: Any) -> None:
    """Record in a transaction of its own; a failure here must not hide the
    answer to the request, so it is logged, not raised."""
    try:
        database().write(audit_log.record, call, status, **kwargs)
    except Exception as exc:  # noqa: BLE001
        # Not log.exception: a database error's text may quote the request's values.
        log.error(
            "could not record %s %s in the audit log\n%s", call.method, call.path, loggable(exc)
        )


def record_refused(status: int, error_code: str) -> None:
    """Record a state-changing call refused before its work by a check of the
    caller's own (the web console's role check)."""
    _record_apart(_call(), status, error_code=error_code)
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
            _record_apart(_call(), response.status_code, error_code=code)
            g.audit_recorded = True
        return response
