"""Every state-changing request goes through :func:`write`: one database
transaction with retries, the Idempotency-Key honoured, the response stored
with the work it describes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask import Response, g, request
from marshmallow import Schema

from wallets import errors, holds, idempotency
from wallets.db import Tx

from .state import database

IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


def write(
    use_case: Callable[[Tx], Any],
    schema: Schema,
    *,
    status: int = 201,
    present: Callable[[Tx, Any], Any] | None = None,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    db = database()
    # Holds whose deadline the sandbox clock has passed are released first, in a
    # transaction of their own, so that this write sees their funds back.
    holds.release_expired_if_due(db)
    claim = None
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if not IDEMPOTENCY_KEY_RE.fullmatch(key):
            raise errors.DomainError(
                errors.VALIDATION_FAILED,
                "Idempotency-Key must be 1-255 printable ASCII characters",
                errors={"Idempotency-Key": ["must be 1-255 printable ASCII characters"]},
            )
        print_ = idempotency.fingerprint(
            request.method, request.path, request.get_json(silent=True)
        )
        found = idempotency.claim(db, g.principal.key_id, key, print_)
        if isinstance(found, idempotency.Replay):
            response = Response(found.body, found.status, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        claim = found

    extra_headers: dict[str, str] = {}

    def work(tx: Tx) -> str:
        result = use_case(tx)
        body = json.dumps(
            schema.dump(present(tx, result) if present else result), separators=(",", ":")
        )
        if claim is not None:
            idempotency.complete(tx, claim, status, body)
        if headers is not None:
            extra_headers.update(headers(result))
        return body

    try:
        body = db.write(work)
    except BaseException:
        if claim is not None:
            idempotency.release(db, claim)
        raise
    return Response(body, status, mimetype="application/json", headers=extra_headers)


def read(fn: Callable[[Tx], Any]) -> Any:
    return database().read(fn)
