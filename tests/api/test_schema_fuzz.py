"""Schema fuzzing: schemathesis drives every operation of the app's own OpenAPI
document in-process, with a valid key of each role.

Checked on every response: no 5xx, the status and content type are documented,
the body conforms to the documented schema, schema-invalid data is refused.
A schema-valid request may be refused for business reasons (404, 409, 422 with
a domain code, 403 for a role): that is the API working. It may not be refused
as *malformed* (400, or 422 ``validation_failed``) — that would mean the document
lies about what the code accepts — except for the cross-field rules listed in
``CROSS_FIELD``, which JSON Schema cannot state.

``ECNY_FUZZ_EXAMPLES`` sets the examples per operation and role (``make soak``);
``ECNY_FUZZ_PG_EXAMPLES`` those of the auditor and operator keys on PostgreSQL.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from tests.conftest import _fresh_url, make_sandbox
from wallets.access import keys
from wallets.core.config import Settings

EXAMPLES = int(os.environ.get("ECNY_FUZZ_EXAMPLES", "1"))
# On PostgreSQL (which refuses what SQLite stores: a NUL, an integer past 32
# bits, a year past 9999) the auditor's and the operator's keys, whose reads
# reach the database with the most parameters, get more examples.
PG_EXAMPLES = int(os.environ.get("ECNY_FUZZ_PG_EXAMPLES", str(max(8, EXAMPLES))))

# Rules between fields (or between a field and the key's role): the refused
# fields, by operation.
CROSS_FIELD = {
    "POST /v1/keys": {"operator", "casino"},  # scope fits the role
    # an admin names the operator; the class and kind say which identity fields are needed
    "POST /v1/wallets": {
        "operator",
        "birth_date",
        "phone",
        "holder_id",
        "holder_name",
        "kind",
        "region",
        "merchant_category",  # a merchant wallet's only (docs/programmable.md)
    },
    # a class 4 wallet holds no name nor birth date (docs/anonymity.md); only a
    # merchant wallet has a category
    "PATCH /v1/wallets/{wallet_id}": {"holder_name", "birth_date", "merchant_category"},
    "POST /v1/casinos": {"operator", "merchant_wallet", "treasury_wallet"},
    "PUT /v1/sandbox/profile": {"name", "document"},  # one of the two
    "POST /v1/audit/exports": {"from", "to"},  # after from; instants in range (below)
    # JSON Schema cannot bound a date-time: the range of instants (docs/api.md)
    # is in the description only.
    "PUT /v1/sandbox/clock": {"now"},
    "GET /v1/wallets/{wallet_id}/statement": {"from", "to"},
    "GET /v1/audit/events": {"from", "to"},
}

_app_for_schema = create_app({"SETTINGS": Settings(database_url="sqlite://")})
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.json", _app_for_schema)
# The sandbox's reset empties the shared world the others need: it goes last
# (each xdist worker runs its share in this order).
RESET = "POST /v1/sandbox/reset"
OPERATIONS = sorted(
    (result.ok().label for result in SCHEMA.get_all_operations()),
    key=lambda label: (label == RESET, label),
)


def schema_valid_data_accepted(ctx, response, case):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    body = json.loads(response.content or b"{}")
    if response.status_code == 422 and body.get("code") != "validation_failed":
        return None  # a business rule refused it
    fields = set(body.get("errors") or {})
    if (
        response.status_code == 422
        and fields
        and fields <= CROSS_FIELD.get(case.operation.label, set())
    ):
        return None
    raise AssertionError(
        f"schema-valid request refused as malformed: {response.status_code} {body}"
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(request, tmp_path_factory):
    """One sandbox per backend for the whole module (per xdist worker): a fresh
    database per operation cost more than the fuzzing itself. State carries over
    from one operation to the next, as it would on a server; the ledger's
    invariants are checked at the end."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url, cleanup = _fresh_url(request, request.param, folder)
    sb = make_sandbox(url, folder / "var")
    sb.operator("ICBC")
    sb.keys["operator"] = sb.keys["ICBC"]
    yield sb
    report = sb.reconcile()
    sb.db.dispose()
    cleanup()
    broken = [f"{c.id}. {c.name}: {c.problems}" for c in report.checks if not c.ok]
    assert not broken, f"invariants broken after fuzzing: {broken}"


SCOPES = {
    "operator": {"operator_code": "ICBC"},
    "merchant": {"casino_ref": "COTAI"},
    "supervisor": {"casino_ref": "COTAI"},
}


@pytest.fixture
def keyed(world):
    """A valid key of each role: the fuzzing of POST /v1/keys/{id}/revoke may
    have revoked one, which is replaced."""
    for role in ("admin", "central_bank", "operator", "auditor", "merchant", "supervisor"):
        key = world.keys.get(role)
        if key is None or world.db.read(lambda tx, key=key: keys.authenticate(tx, key)) is None:
            world.keys[role] = world.key(role, **SCOPES.get(role, {}))
    return world


def _fuzz(operation, headers: dict[str, str], examples: int):
    """A hypothesis test of one operation with one key (no default arguments:
    hypothesis refuses to wrap a function that has them)."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(
            headers=headers,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[schema_valid_data_accepted],
        )

    return run


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_its_document(keyed, label):
    if not hasattr(keyed, "fuzz_schema"):
        keyed.fuzz_schema = schemathesis.openapi.from_wsgi("/openapi.json", keyed.app)
    schema = keyed.fuzz_schema
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == label)
    roles = ["admin", "central_bank", "operator", "auditor", "merchant", "supervisor"]
    postgres = keyed.db.engine.dialect.name == "postgresql"

    for role in roles:
        headers = {"Authorization": f"Bearer {keyed.keys[role]}"}
        # The admin may do everything: most examples go to it.
        examples = EXAMPLES * 3 if role == "admin" else EXAMPLES
        if postgres and role in ("auditor", "operator"):
            examples = PG_EXAMPLES
        _fuzz(operation, headers, examples)()
