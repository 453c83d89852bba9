"""programmable payments: red envelopes and conditional payments

Revision ID: 0011_programmable
Revises: 0010_anonymity
Create Date: 2026-12-01

- ``wallets.merchant_category``: a merchant wallet's category (a documented list),
  which red-envelope campaigns may require of the merchants they pay;
- ``holds.condition`` and ``holds.confirmer_wallet_id``: a conditional payment
  is a hold captured when its condition is met (a time, or a confirmation by a
  named third party's wallet);
- ``envelope_campaigns``, ``envelope_grants``, ``envelope_spends``: red-envelope
  campaigns, the envelopes granted or claimed, and what each payment spent of
  them at which merchant.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_programmable"
down_revision: str | None = "0010_anonymity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("wallets") as batch:
        batch.add_column(sa.Column("merchant_category", sa.String(length=24), nullable=True))
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("condition", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("confirmer_wallet_id", BIG_ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_holds_confirmer_wallet_id_wallets"), "wallets", ["confirmer_wallet_id"], ["id"]
        )
        batch.create_check_constraint(
            op.f("ck_holds_condition"),
            "condition IS NULL OR condition IN ('time', 'confirmation')",
        )
    op.create_table(
        "envelope_campaigns",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("issuer_wallet_id", BIG_ID, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("envelopes", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimable", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_until", sa.DateTime(), nullable=False),
        sa.Column("regions", sa.String(length=200), nullable=True),
        sa.Column("categories", sa.String(length=400), nullable=True),
        sa.Column("min_payment", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("returned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_envelope_campaigns_amount_positive")),
        sa.CheckConstraint("envelopes > 0", name=op.f("ck_envelope_campaigns_envelopes_positive")),
        sa.CheckConstraint(
            "granted >= 0 AND granted <= envelopes",
            name=op.f("ck_envelope_campaigns_granted_range"),
        ),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_envelope_campaigns_validity")),
        sa.CheckConstraint(
            "status IN ('active', 'ended')", name=op.f("ck_envelope_campaigns_status")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_wallet_id"],
            ["wallets.id"],
            name=op.f("fk_envelope_campaigns_issuer_wallet_id_wallets"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_envelope_campaigns_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_campaigns")),
    )
    op.create_index(
        "ix_envelope_campaigns_issuer_wallet_id", "envelope_campaigns", ["issuer_wallet_id"]
    )
    op.create_index(
        "ix_envelope_campaigns_status_valid_until",
        "envelope_campaigns",
        ["status", "valid_until"],
    )
    op.create_table(
        "envelope_grants",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "spent >= 0 AND spent <= amount", name=op.f("ck_envelope_grants_spent_range")
        ),
        sa.CheckConstraint(
            "source IN ('granted', 'claimed')", name=op.f("ck_envelope_grants_source")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["envelope_campaigns.id"],
            name=op.f("fk_envelope_grants_campaign_id_envelope_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_envelope_grants_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_grants")),
        sa.UniqueConstraint(
            "campaign_id", "wallet_id", name=op.f("uq_envelope_grants_campaign_id_wallet_id")
        ),
    )
    op.create_index("ix_envelope_grants_wallet_id", "envelope_grants", ["wallet_id"])
    op.create_table(
        "envelope_spends",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("grant_id", BIG_ID, nullable=False),
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("transfer_id", BIG_ID, nullable=False),
        sa.Column("merchant_wallet_id", BIG_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("spent_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_envelope_spends_amount_positive")),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["envelope_grants.id"],
            name=op.f("fk_envelope_spends_grant_id_envelope_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["envelope_campaigns.id"],
            name=op.f("fk_envelope_spends_campaign_id_envelope_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_envelope_spends_transfer_id_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_wallet_id"],
            ["wallets.id"],
            name=op.f("fk_envelope_spends_merchant_wallet_id_wallets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_spends")),
    )
    op.create_index("ix_envelope_spends_campaign_id", "envelope_spends", ["campaign_id"])
    op.create_index("ix_envelope_spends_transfer_id", "envelope_spends", ["transfer_id"])


def downgrade() -> None:
    op.drop_index("ix_envelope_spends_transfer_id", table_name="envelope_spends")
    op.drop_index("ix_envelope_spends_campaign_id", table_name="envelope_spends")
    op.drop_table("envelope_spends")
    op.drop_index("ix_envelope_grants_wallet_id", table_name="envelope_grants")
    op.drop_table("envelope_grants")
    op.drop_index("ix_envelope_campaigns_status_valid_until", table_name="envelope_campaigns")
    op.drop_index("ix_envelope_campaigns_issuer_wallet_id", table_name="envelope_campaigns")
    op.drop_table("envelope_campaigns")
    with op.batch_alter_table("holds") as batch:
        batch.drop_constraint(op.f("ck_holds_condition"), type_="check")
        batch.drop_constraint(op.f("fk_holds_confirmer_wallet_id_wallets"), type_="foreignkey")
        batch.drop_column("confirmer_wallet_id")
        batch.drop_column("condition")
    with op.batch_alter_table("wallets") as batch:
        batch.drop_column("merchant_category")
