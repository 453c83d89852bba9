"""macau in depth: contributions split by beneficiary, approved chips in
circulation, gaming promoters, gaming credit, chip handovers

Revision ID: 0009_macau_depth
Revises: 0008_events
Create Date: 2026-12-01

- ``casinos.beneficiaries``: the wallets (JSON, contribution name -> wallet id)
  the casino pays each contribution of the profile to (the treasury wallet
  when a contribution has none);
- ``casinos.chips_approved``: the chips in circulation DICJ approved for the
  casino (Law 7/2022), in fen; NULL: no approved figure recorded;
- ``gaming_day_transfers``: every transfer a close posted besides the tax and
  the sweep (one per contribution, a promoter's commission and its
  withholding), with its purpose;
- ``promoters``: gaming promoters (junkets) licensed by DICJ, each tied to one
  casino (concessionaire), with its wallet and commission rate;
  ``promoter_players``: the players a promoter brings to a casino;
- ``credit_lines`` and ``credit_movements``: gaming credit a casino grants a
  player (Law 7/2024), drawn as chips and repaid in e-CNY;
- ``chip_handovers``: chips one player hands another at the cage (the
  pooling red flag of FATF/APG 2009 reads them);
- the rule profile's ``casino.tax.contributions`` becomes a list of named
  shares: a sandbox's own document with the old single share gets it as one
  entry named ``contributions`` (what it meant: one payment to the treasury);
  the downgrade sums them back, and takes out of the document the optional
  keys this revision's parser added (``alerts.holidays``,
  ``casino.promoters``, ``casino.third_party_payout``, ``casino.chip_walking``,
  ``casino.pooling``): the parser before it refuses unknown keys.

(Another branch may add a revision after 0007; at merge the merger re-chains
this one's down_revision.)
"""

import json
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0009_macau_depth"
down_revision: str | None = "0008_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("casinos") as batch:
        batch.add_column(sa.Column("beneficiaries", sa.Text(), nullable=True))
        batch.add_column(sa.Column("chips_approved", sa.BigInteger(), nullable=True))
    op.create_table(
        "gaming_day_transfers",
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("transfer_id", BIG_ID, nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_gaming_day_transfers_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_gaming_day_transfers_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_gaming_day_transfers")),
    )
    op.create_index(
        "ix_gaming_day_transfers_casino_id_gaming_day",
        "gaming_day_transfers",
        ["casino_id", "gaming_day"],
    )
    op.create_table(
        "promoters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("commission_rate", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_promoters_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_promoters_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promoters")),
        sa.UniqueConstraint("licence", name=op.f("uq_promoters_licence")),
    )
    op.create_table(
        "promoter_players",
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("promoter_id", sa.Integer(), nullable=False),
        sa.Column("attached_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_promoter_players_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_promoter_players_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["promoter_id"],
            ["promoters.id"],
            name=op.f("fk_promoter_players_promoter_id_promoters"),
        ),
        sa.PrimaryKeyConstraint("casino_id", "wallet_id", name=op.f("pk_promoter_players")),
    )
    op.create_index("ix_promoter_players_promoter_id", "promoter_players", ["promoter_id"])
    op.create_table(
        "credit_lines",
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("outstanding", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("credit_limit >= 0", name=op.f("ck_credit_lines_limit_not_negative")),
        sa.CheckConstraint(
            "outstanding >= 0", name=op.f("ck_credit_lines_outstanding_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_credit_lines_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_credit_lines_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("casino_id", "wallet_id", name=op.f("pk_credit_lines")),
    )
    op.create_table(
        "credit_movements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("transfer_id", BIG_ID, nullable=False),
        sa.CheckConstraint("kind IN ('draw', 'repayment')", name=op.f("ck_credit_movements_kind")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_movements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_credit_movements_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_credit_movements_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_credit_movements_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_movements")),
    )
    op.create_index(
        "ix_credit_movements_casino_id_gaming_day", "credit_movements", ["casino_id", "gaming_day"]
    )
    op.create_table(
        "chip_handovers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("from_wallet_id", BIG_ID, nullable=False),
        sa.Column("to_wallet_id", BIG_ID, nullable=False),
        sa.Column("from_holder_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("transfer_id", BIG_ID, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_chip_handovers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casinos.id"], name=op.f("fk_chip_handovers_casino_id_casinos")
        ),
        sa.ForeignKeyConstraint(
            ["from_wallet_id"],
            ["wallets.id"],
            name=op.f("fk_chip_handovers_from_wallet_id_wallets"),
        ),
        sa.ForeignKeyConstraint(
            ["to_wallet_id"], ["wallets.id"], name=op.f("fk_chip_handovers_to_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_chip_handovers_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chip_handovers")),
    )
    op.create_index(
        "ix_chip_handovers_casino_id_gaming_day_to_wallet_id",
        "chip_handovers",
        ["casino_id", "gaming_day", "to_wallet_id"],
    )
    _rewrite_document(_to_new_document)


def downgrade() -> None:
    _rewrite_document(_to_old_document)
    op.drop_index(
        "ix_chip_handovers_casino_id_gaming_day_to_wallet_id", table_name="chip_handovers"
    )
    op.drop_table("chip_handovers")
    op.drop_index("ix_credit_movements_casino_id_gaming_day", table_name="credit_movements")
    op.drop_table("credit_movements")
    op.drop_table("credit_lines")
    op.drop_index("ix_promoter_players_promoter_id", table_name="promoter_players")
    op.drop_table("promoter_players")
    op.drop_table("promoters")
    op.drop_index("ix_gaming_day_transfers_casino_id_gaming_day", table_name="gaming_day_transfers")
    op.drop_table("gaming_day_transfers")
    with op.batch_alter_table("casinos") as batch:
        batch.drop_column("chips_approved")
        batch.drop_column("beneficiaries")


def _to_list(value):
    return [{"name": "contributions", "share": value}] if isinstance(value, str) else value


def _to_share(value):
    if not isinstance(value, list):
        return value
    return str(sum((Decimal(c["share"]) for c in value), Decimal(0)))


# The keys this revision's parser accepts that the one before it refuses.
NEW_KEYS = {
    "alerts": ("holidays",),
    "casino": ("promoters", "third_party_payout", "chip_walking", "pooling"),
}


def _tax(document: dict):
    casino = document.get("casino")
    tax = casino.get("tax") if isinstance(casino, dict) else None
    return tax if isinstance(tax, dict) and "contributions" in tax else None


def _to_new_document(document: dict) -> None:
    tax = _tax(document)
    if tax is not None:
        tax["contributions"] = _to_list(tax["contributions"])


def _to_old_document(document: dict) -> None:
    tax = _tax(document)
    if tax is not None:
        tax["contributions"] = _to_share(tax["contributions"])
    for section, keys in NEW_KEYS.items():
        part = document.get(section)
        if isinstance(part, dict):
            for key in keys:
                part.pop(key, None)


def _rewrite_document(change) -> None:
    bind = op.get_bind()
    text = bind.execute(sa.text("SELECT profile_document FROM sandbox WHERE id = 1")).scalar()
    if not text:
        return
    document = json.loads(text)
    if not isinstance(document, dict):
        return
    change(document)
    bind.execute(
        sa.text("UPDATE sandbox SET profile_document = :doc WHERE id = 1"),
        {"doc": json.dumps(document, sort_keys=True, separators=(",", ":"))},
    )
