"""Shared bits for blueprints: documented problem responses, cursors."""

from __future__ import annotations

from collections.abc import Callable

import flask_smorest
from flask import g
from webargs.flaskparser import FlaskParser

from wallets import errors

from ..schemas import ProblemSchema

PROBLEM = "application/problem+json"


class _Parser(FlaskParser):
    """webargs' parser, reading the body app/__init__.py already parsed (once)
    instead of parsing it again; a query parameter the operation's schema does
    not declare is refused (400 unknown_parameter), never silently ignored:
    ``?kye_id=5`` must not answer everything."""

    def _raw_load_json(self, req):
        if "json_body" in g and req.mimetype == "application/json":
            return g.json_body
        return super()._raw_load_json(req)

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        if location in ("query", "querystring"):
            declared = {f.data_key or name for name, f in schema.fields.items() if not f.dump_only}
            unknown = sorted(set(data.keys()) - declared)
            if unknown:
                names = ", ".join(unknown)
                raise errors.DomainError(
                    errors.UNKNOWN_PARAMETER,
                    f"unknown query parameter: {names} (this operation takes: "
                    f"{', '.join(sorted(declared))})",
                    parameters=unknown,
                )
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def arguments(self, schema, *, location="json", **kwargs):
        """Query arguments may be refused as unknown (400): documented with them."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location not in ("query", "querystring"):
            return decorator

        def both(fn):
            return self.alt_response(
                400, schema=ProblemSchema, content_type=PROBLEM, description=_DESCRIPTIONS[400]
            )(decorator(fn))

        return both


_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad header, an unknown query parameter)",
    401: "Missing or unknown API key",
    403: "The key's role may not do this",
    404: "No such resource, or outside the caller's scope",
    409: "Conflicts with the current state (e.g. an idempotent request still in flight)",
    412: "If-Match does not match the resource's current ETag",
    428: "This update needs If-Match with the ETag you read",
    415: "The body must be application/json",
    422: "Validation failed, or refused by a ledger or business rule",
    503: "The ledger stayed busy through every retry; retry the request",
}


def problems(blp: Blueprint, *statuses: int) -> Callable:
    """Document problem responses (every /v1 call may also answer 401 and 403)."""

    def decorator(fn: Callable) -> Callable:
        for status in sorted({401, 403, *statuses}):
            fn = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM,
                description=_DESCRIPTIONS[status],
            )(fn)
        return fn

    return decorator


WRITE_PROBLEMS = (400, 404, 409, 415, 422, 503)


def int_cursor(after: str | None) -> int | None:
    if after is None:
        return None
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "after: not a cursor of this list",
            errors={"after": ["not a valid cursor"]},
        )
    return int(after)
