from __future__ import annotations

from wallets.casino import exclusions as ex

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.exclusions import ExclusionCreate, ExclusionListArgs, ExclusionOut
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "exclusions",
    __name__,
    url_prefix="/v1/exclusions",
    description="The exclusion list (Law 10/2012): persons barred from gaming",
)

ExclusionPage = page_of(ExclusionOut, "ExclusionPage")


def _exclusion(tx, e: ex.Exclusion) -> dict:
    return {**e.__dict__, "status": e.status(tx.now())}


@blp.route("", methods=["POST"])
@blp.arguments(ExclusionCreate())
@blp.response(201, ExclusionOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "supervisor")
def add_exclusion(body):
    """Bar a person (by holder id) from gaming, at one casino or at all, from
    `starts_on` (default today) to `ends_on` (at most the profile's years)."""
    return write(
        lambda tx: ex.add(
            tx,
            current_principal(),
            holder_id=body["holder_id"],
            kind=body["kind"],
            starts_on=body.get("starts_on"),
            ends_on=body["ends_on"],
            casino_ref=body.get("casino"),
        ),
        ExclusionOut,
        present=_exclusion,
    )


@blp.route("", methods=["GET"])
@blp.arguments(ExclusionListArgs(), location="query")
@blp.response(200, ExclusionPage)
@problems(blp, 422)
@roles("admin", "auditor", "supervisor")
def list_exclusions(args):
    """Exclusions by id, with their status now; filter by holder id. A supervisor
    sees those of every casino and of its own."""
    after = int_cursor(args["after"])

    def run(tx):
        found = ex.list_(
            tx,
            current_principal(),
            holder_id=args.get("holder_id"),
            after=after,
            limit=args["limit"] + 1,
        )
        return present.page([_exclusion(tx, e) for e in found], args["limit"], lambda e: e["id"])

    return read(run)


@blp.route("/<id32:exclusion_id>/revoke", methods=["POST"])
@blp.response(200, ExclusionOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "supervisor")
def revoke_exclusion(exclusion_id):
    """Request the exclusion's revocation: it takes effect after the profile's
    delay (30 days), until then the person stays barred."""
    return write(
        lambda tx: ex.revoke(tx, exclusion_id, current_principal()),
        ExclusionOut,
        status=200,
        present=_exclusion,
    )
