"""Red-envelope campaigns (docs/programmable.md)."""

from __future__ import annotations

from wallets.retail import campaigns

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.envelopes import (
    CampaignCreate,
    CampaignListArgs,
    CampaignOut,
    CampaignReportOut,
    ClaimBody,
    EnvelopeOut,
    GrantBody,
    GrantsOut,
)
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "envelopes",
    __name__,
    url_prefix="/v1/envelope-campaigns",
    description="Red envelopes: campaigns of vouchers spendable at the merchants they name",
)

CampaignPage = page_of(CampaignOut, "CampaignPage")


@blp.route("", methods=["POST"])
@blp.arguments(CampaignCreate())
@blp.response(201, CampaignOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def create_campaign(body):
    """Create a campaign: amount x envelopes leaves the issuer's wallet for the
    campaign's escrow at once; what is unspent at `valid_until` goes back."""
    return write(
        lambda tx: campaigns.create(
            tx,
            current_principal(),
            issuer_wallet_id=body["issuer_wallet"],
            name=body["name"],
            amount=body["amount"],
            envelopes=body["envelopes"],
            valid_from=body.get("valid_from"),
            valid_until=body["valid_until"],
            claimable=body["claimable"],
            regions=body.get("regions"),
            merchant_categories=body.get("merchant_categories"),
            min_payment=body.get("min_payment"),
        ),
        CampaignOut,
    )


@blp.route("", methods=["GET"])
@blp.arguments(CampaignListArgs(), location="query")
@blp.response(200, CampaignPage)
@problems(blp, 422)
@roles("admin", "auditor", "operator")
def list_campaigns(args):
    """Every campaign (any operator's wallets may claim envelopes), by id."""
    after = int_cursor(args["after"])

    def run(tx):
        found = campaigns.list_(tx, args.get("status"), after, args["limit"] + 1)
        return present.page(found, args["limit"], lambda c: c.id)

    return read(run)


@blp.route("/<int:campaign_id>", methods=["GET"])
@blp.response(200, CampaignOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_campaign(campaign_id):
    """One campaign: its conditions, how many envelopes are granted, its escrow."""
    return read(lambda tx: campaigns.get(tx, campaign_id, current_principal()))


@blp.route("/<int:campaign_id>/report", methods=["GET"])
@blp.response(200, CampaignReportOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def campaign_report(campaign_id):
    """The issuer's operator's report: granted, spent, at which merchants, returned."""
    return read(lambda tx: campaigns.report(tx, campaign_id, current_principal()))


@blp.route("/<int:campaign_id>/grants", methods=["POST"])
@blp.arguments(GrantBody())
@blp.response(201, GrantsOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def grant_envelopes(body, campaign_id):
    """The issuer's operator grants an envelope to each wallet of the list (all or none)."""
    return write(
        lambda tx: {
            "items": campaigns.grant(tx, campaign_id, body["wallets"], current_principal())
        },
        GrantsOut,
    )


@blp.route("/<int:campaign_id>/claims", methods=["POST"])
@blp.arguments(ClaimBody())
@blp.response(201, EnvelopeOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def claim_envelope(body, campaign_id):
    """A wallet's operator claims an envelope for it, first come first served
    (a claimable campaign only; one per wallet)."""
    return write(
        lambda tx: campaigns.claim(tx, campaign_id, body["wallet"], current_principal()),
        EnvelopeOut,
    )
