"""Dual offline payments (docs/offline.md): purses, vouchers, sync, unload."""

from __future__ import annotations

from wallets.retail import offline

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.offline import (
    LoadBody,
    PurseCreate,
    PurseListArgs,
    PurseOut,
    SyncBody,
    SyncOut,
    UnloadBody,
    VoucherListArgs,
    VoucherOut,
)
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "offline",
    __name__,
    url_prefix="/v1/offline",
    description="Dual offline payments: purses (hardware wallets), signed vouchers, sync",
)

PursePage = page_of(PurseOut, "PursePage")
VoucherPage = page_of(VoucherOut, "VoucherPage")


@blp.route("/purses", methods=["POST"])
@blp.arguments(PurseCreate())
@blp.response(201, PurseOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def open_purse(body):
    """Register a device's offline purse for a wallet and load it from the
    wallet's balance (up to the profile's `offline.purse_cap`). A wallet has
    one purse at a time until it is unloaded."""
    return write(
        lambda tx: offline.open_purse(
            tx,
            current_principal(),
            wallet_id=body["wallet"],
            device_key=body["device_key"],
            amount=body["amount"],
        ),
        PurseOut,
        present=present.purse,
    )


@blp.route("/purses", methods=["GET"])
@blp.arguments(PurseListArgs(), location="query")
@blp.response(200, PursePage)
@problems(blp, 404, 422)
@roles("admin", "auditor", "operator")
def list_purses(args):
    """A wallet's offline purses, the unloaded ones too."""
    after = int_cursor(args["after"])

    def run(tx):
        found = offline.list_for_wallet(
            tx, args["wallet"], current_principal(), after, args["limit"] + 1
        )
        return present.page([present.purse(tx, p) for p in found], args["limit"], lambda p: p["id"])

    return read(run)


@blp.route("/purses/<int:purse_id>", methods=["GET"])
@blp.response(200, PurseOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_purse(purse_id):
    """One offline purse: what it was loaded with, spent, holds and returned."""
    return read(lambda tx: present.purse(tx, offline.get(tx, purse_id, current_principal())))


@blp.route("/purses/<int:purse_id>/vouchers", methods=["GET"])
@blp.arguments(VoucherListArgs(), location="query")
@blp.response(200, VoucherPage)
@problems(blp, 404, 422)
@roles("admin", "auditor", "operator")
def list_purse_vouchers(args, purse_id):
    """The vouchers the purse paid or was paid with, in the order they were first synced."""
    after = int_cursor(args["after"])

    def run(tx):
        found = offline.vouchers_of(tx, purse_id, current_principal(), after, args["limit"] + 1)
        return present.page(found, args["limit"], lambda v: v.id)

    return read(run)


@blp.route("/purses/<int:purse_id>/loads", methods=["POST"])
@blp.arguments(LoadBody())
@blp.response(200, PurseOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def load_purse(body, purse_id):
    """Top the purse up from its wallet (not a frozen or unloading one)."""
    return write(
        lambda tx: offline.load(tx, purse_id, current_principal(), body["amount"]),
        PurseOut,
        status=200,
        present=present.purse,
    )


@blp.route("/purses/<int:purse_id>/unload", methods=["POST"])
@blp.arguments(UnloadBody())
@blp.response(200, PurseOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def unload_purse(body, purse_id):
    """Return what the purse holds to its wallet: at once with the device's
    signed last counter when every voucher up to it is synced, else after
    the profile's `offline.unload_wait_hours` (status `unloading` until then)."""
    return write(
        lambda tx: offline.unload(
            tx, purse_id, current_principal(), body.get("counter"), body.get("signature")
        ),
        PurseOut,
        status=200,
        present=present.purse,
    )


@blp.route("/sync", methods=["POST"])
@blp.arguments(SyncBody())
@blp.response(200, SyncOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def sync_vouchers(body):
    """Upload vouchers (the payer's or the payee's operator): each is checked
    (purses, signature), kept once, and its purse's vouchers judged again
    whatever the order they arrive in; each item says synced, duplicate or
    rejected, with the voucher as it stands."""
    return write(
        lambda tx: offline.sync(
            tx, current_principal(), [offline.VoucherIn(**v) for v in body["vouchers"]]
        ),
        SyncOut,
        status=200,
        present=present.sync,
    )
