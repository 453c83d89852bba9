from __future__ import annotations

from wallets.core import errors
from wallets.retail import limits
from wallets.rules import active_profile
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

from .. import present
from ..auth import current_principal, roles
from ..openapi import takes_if_match
from ..schemas.common import AmountBody, PageArgs, page_of
from ..schemas.operators import (
    ClassLimitsOut,
    LimitsBody,
    OperatorCreate,
    OperatorLimitsOut,
    OperatorOut,
)
from ..schemas.transfers import TransferOut
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, problems

blp = Blueprint(
    "operators",
    __name__,
    url_prefix="/v1/operators",
    description="Authorized operators (tier 1 and 2 figures)",
)

OperatorPage = page_of(OperatorOut, "OperatorPage")
OPERATOR_ETAG = etag_header("operator")
LIMITS_ETAG = etag_header("operator's limits")


@blp.route("", methods=["POST"])
@blp.arguments(OperatorCreate())
@blp.response(201, OperatorOut, headers=OPERATOR_ETAG)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "central_bank")
def create_operator(body):
    """Register an authorized operator, with its reserve, position, vault and settlement accounts."""
    return write(
        lambda tx: ops.create(tx, body["code"], body["name"]),
        OperatorOut,
        present=present.operator,
        headers=lambda tx, op: {"ETag": ops.etag(tx, op)},
    )


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs(), location="query")
@blp.response(200, OperatorPage)
@problems(blp, 422)
@roles("admin", "central_bank", "auditor", "operator")
def list_operators(args):
    """Operators, by code. An operator key sees only its own."""

    def run(tx):
        found = ops.list_(tx, current_principal(), args["after"], args["limit"] + 1)
        return present.page(
            [present.operator(tx, o) for o in found], args["limit"], lambda o: o["code"]
        )

    return read(run)


@blp.route("/<code>", methods=["GET"])
@blp.response(200, OperatorOut, headers=OPERATOR_ETAG)
@problems(blp, 404)
@roles("admin", "central_bank", "auditor", "operator")
def get_operator(code):
    """One operator: free reserve, tier-1 position, vault and wallets' total.
    Its `ETag` versions what is set of it (its net debit cap), not its figures."""

    def run(tx):
        op = ops.get(tx, code, current_principal())
        return present.operator(tx, op), ops.etag(tx, op)

    document, etag = read(run)
    return document, 200, {"ETag": etag}


@blp.route("/<code>/reserve-deposits", methods=["POST"])
@blp.arguments(AmountBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "central_bank")
def deposit_reserve(body, code):
    """Credit the operator's reserve account at the central bank."""
    return write(
        lambda tx: issuance.deposit_reserve(
            tx, code, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/<code>/issuances", methods=["POST"])
@blp.arguments(AmountBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "central_bank", "operator")
def issue(body, code):
    """Issue e-CNY to the operator against its reserve (at the reserve ratio): its
    tier-1 position and its vault grow by the amount."""
    return write(
        lambda tx: issuance.issue(
            tx, code, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/<code>/redemptions", methods=["POST"])
@blp.arguments(AmountBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "central_bank", "operator")
def redeem(body, code):
    """Return e-CNY from the operator's vault to the central bank; reserve is released."""
    return write(
        lambda tx: issuance.redeem(
            tx, code, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


def _class_limits(tx, op, wallet_class: int) -> dict:
    return {
        "wallet_class": wallet_class,
        "profile": active_profile(tx).wallet_limits[wallet_class].as_dict(),
        "effective": limits.effective(tx, op.id, wallet_class).as_dict(),
    }


def _operator_limits(tx, op) -> dict:
    return {
        "operator": op.code,
        "profile": active_profile(tx).name,
        "classes": [_class_limits(tx, op, c) for c in (1, 2, 3, 4)],
    }


@blp.route("/<code>/limits", methods=["GET"])
@blp.response(200, OperatorLimitsOut, headers=LIMITS_ETAG)
@problems(blp, 404)
@roles("admin", "central_bank", "auditor", "operator")
def get_limits(code):
    """Wallet-class limits at this operator: the profile's and the effective ones.
    Its `ETag` is the one a `PUT` of any class's limits takes as `If-Match`."""

    def run(tx):
        op = ops.get(tx, code, current_principal())
        return _operator_limits(tx, op), limits.etag(tx, op)

    document, etag = read(run)
    return document, 200, {"ETag": etag}


@blp.route("/<code>/limits/<int:wallet_class>", methods=["PUT"])
@blp.arguments(LimitsBody())
@blp.response(200, ClassLimitsOut, headers=LIMITS_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "operator")
def set_limits(body, code, wallet_class):
    """Set the operator's own limits for one wallet class: each at most the
    profile's (null: the profile's). They apply to its wallets from now on.
    `If-Match` is optional: when sent, it must match the ETag of the operator's
    limits (all classes', as `GET .../limits` gives it); the answer has the new one."""
    if wallet_class not in (1, 2, 3, 4):
        raise errors.DomainError(errors.NOT_FOUND_CODE, f"no wallet class {wallet_class}")
    precondition = if_match()

    def run(tx):
        op = ops.get(tx, code, current_principal())
        limits.set_operator_limits(
            tx, op.id, wallet_class, limits.Limits(**body), if_match=precondition
        )
        return _class_limits(tx, op, wallet_class)

    return write(
        run,
        ClassLimitsOut,
        status=200,
        headers=lambda tx, _: {"ETag": limits.etag(tx, ops.get(tx, code, current_principal()))},
    )
