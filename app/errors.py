"""The one place that maps domain errors and HTTP errors to RFC 9457 problems."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from wallets.core import errors
from wallets.core.db import loggable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# What a 503 busy asks a client to wait before retrying.
RETRY_AFTER_SECONDS = 1

# Werkzeug's own errors (routing, body size ...) by status.
CODE_BY_HTTP_STATUS = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHORIZED,
    403: errors.FORBIDDEN_ROLE,
    404: errors.NOT_FOUND_CODE,
    405: errors.METHOD_NOT_ALLOWED,
    406: errors.NOT_ACCEPTABLE,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    422: errors.VALIDATION_FAILED,
}


status_for = errors.status_of


RESERVED_MEMBERS = {"type", "title", "status", "code", "detail", "instance", "request_id"}


def problem(code: str, detail: str | None = None, *, http_status: int | None = None, **extra):
    status = http_status or status_for(code)
    body = {
        "type": f"urn:ecny:problem:{code}",
        "title": errors.CODES[code].title,
        "status": status,
        "code": code,
        "detail": detail or errors.CODES[code].title,
        "instance": request.path,
        "request_id": getattr(g, "request_id", None),
    }
    # Extra members add facts; they never replace the standard ones.
    body.update({k: v for k, v in extra.items() if k not in RESERVED_MEMBERS})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ecny"'
    if code == errors.BUSY:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _flatten(messages) -> dict[str, list[str]]:
    """webargs groups messages by location ({"json": {"amount": [...]}}); callers
    care about the field, so name fields directly (query ones as-is too)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_schema", []).extend(value)
        else:
            out.setdefault(prefix or "_schema", []).append(str(value))

    for location, fields in (messages or {}).items():
        if isinstance(fields, dict):
            walk("", fields)
        else:
            walk(location if location not in ("json", "query", "headers") else "", fields)
    return out


def register(app: Flask) -> None:
    @app.errorhandler(errors.DomainError)
    def _domain(exc: errors.DomainError):
        return problem(exc.code, exc.detail, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages")
        if messages:
            fields = _flatten(messages)
            names = ", ".join(sorted(fields))
            return problem(errors.VALIDATION_FAILED, f"invalid fields: {names}", errors=fields)
        status = exc.code or 500
        code = CODE_BY_HTTP_STATUS.get(status)
        if code is None:
            log.error("unexpected HTTP error %s", exc)
            return _internal(exc)
        detail = exc.description if status != 404 else f"no resource at {request.path}"
        response = problem(code, detail, http_status=status)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Not log.exception: a database error's text may quote the request's values.
        log.error(
            "unhandled error on %s %s (request %s)\n%s",
            request.method,
            request.path,
            getattr(g, "request_id", None),
            loggable(exc),
        )
        return _internal(exc)


def _internal(exc: BaseException):
    body = {
        "type": "urn:ecny:problem:internal_error",
        "title": "Internal error",
        "status": 500,
        "code": "internal_error",
        "detail": "the sandbox failed; nothing was written. The request id helps find the log.",
        "instance": request.path,
        "request_id": getattr(g, "request_id", None),
    }
    response = jsonify(body)
    response.status_code = 500
    response.mimetype = PROBLEM_JSON
    return response
