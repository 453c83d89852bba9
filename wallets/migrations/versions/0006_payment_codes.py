"""payment codes: a wallet holder's consent to a cage's debit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

A new table, and the new required key ``casino.payment_codes`` of the rule
profile format: a sandbox's own profile document (``sandbox.profile_document``)
that has casino rules gets it, with the shipped macau profile's figures, so
that it still loads; the downgrade takes it out again.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The macau profile's figures when this revision was written (a migration
# never reads the code's current files: they may have moved on).
PAYMENT_CODES = {"required": True, "lifetime_seconds": 60}


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_payment_codes_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "payment_codes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_casino_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "max_amount IS NULL OR max_amount > 0",
            name=op.f("ck_payment_codes_max_amount_positive"),
        ),
        _fk("api_key_id", "api_keys"),
        _fk("used_by_casino_id", "casinos"),
        _fk("wallet_id", "wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_payment_codes_code_hash")),
    )
    op.create_index(op.f("ix_payment_codes_wallet_id"), "payment_codes", ["wallet_id"])
    _rewrite_document(lambda casino: casino.setdefault("payment_codes", dict(PAYMENT_CODES)))


def downgrade() -> None:
    _rewrite_document(lambda casino: casino.pop("payment_codes", None))
    op.drop_index(op.f("ix_payment_codes_wallet_id"), table_name="payment_codes")
    op.drop_table("payment_codes")


def _rewrite_document(change) -> None:
    bind = op.get_bind()
    text = bind.execute(sa.text("SELECT profile_document FROM sandbox WHERE id = 1")).scalar()
    if not text:
        return
    document = json.loads(text)
    if not isinstance(document.get("casino"), dict):
        return
    change(document["casino"])
    bind.execute(
        sa.text("UPDATE sandbox SET profile_document = :doc WHERE id = 1"),
        {"doc": json.dumps(document, sort_keys=True, separators=(",", ":"))},
    )
