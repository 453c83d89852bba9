"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28

The tables of the two-tier ledger, and the rows every sandbox starts with: the
sandbox settings, the journal head, and the central bank's accounts.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# 64-bit on PostgreSQL, the rowid alias on SQLite.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS_HASH = "0" * 64

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("last_transfer_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_head_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("code", name=op.f("uq_operators_code")),
    )
    op.create_table(
        "sandbox",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("settlement_model", sa.String(length=16), server_default="gross", nullable=False),
        sa.Column("reserve_ratio", sa.String(length=12), server_default="1.00", nullable=False),
        sa.Column("clock_fixed", sa.DateTime(), nullable=True),
        sa.Column("clock_offset_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "settlement_model IN ('gross', 'deferred_net')",
            name=op.f("ck_sandbox_settlement_model"),
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_sandbox_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("casino_ref", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'central_bank', 'operator', 'merchant', 'supervisor', 'auditor')",
            name=op.f("ck_api_keys_role"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_api_keys_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "wallets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("wallet_class", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("parent_id", BIG_ID, nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('personal', 'merchant')", name=op.f("ck_wallets_kind")),
        sa.CheckConstraint(
            "status IN ('active', 'frozen', 'closed')", name=op.f("ck_wallets_status")
        ),
        sa.CheckConstraint("wallet_class BETWEEN 1 AND 4", name=op.f("ck_wallets_wallet_class")),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_wallets_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["wallets.id"], name=op.f("fk_wallets_parent_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
    )
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallets_operator_id"), ["operator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallets_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("asset", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("wallet_id", BIG_ID, nullable=True),
        sa.Column("may_go_negative", sa.Boolean(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "may_go_negative OR credits_posted - debits_posted - debits_pending >= 0",
            name=op.f("ck_accounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_accounts_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_accounts_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_code")),
        sa.UniqueConstraint("wallet_id", "asset", name=op.f("uq_accounts_wallet_id_asset")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_operator_id"), ["operator_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('in_flight', 'completed')", name=op.f("ck_idempotency_keys_state")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_keys_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_keys_api_key_id_key")),
    )
    op.create_table(
        "transfers",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("asset", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("from_wallet_id", BIG_ID, nullable=True),
        sa.Column("to_wallet_id", BIG_ID, nullable=True),
        sa.Column("from_operator_id", sa.Integer(), nullable=True),
        sa.Column("to_operator_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transfers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["from_operator_id"],
            ["operators.id"],
            name=op.f("fk_transfers_from_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["from_wallet_id"], ["wallets.id"], name=op.f("fk_transfers_from_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["to_operator_id"], ["operators.id"], name=op.f("fk_transfers_to_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["to_wallet_id"], ["wallets.id"], name=op.f("fk_transfers_to_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfers_from_operator_id"), ["from_operator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_from_wallet_id"), ["from_wallet_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_to_operator_id"), ["to_operator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_to_wallet_id"), ["to_wallet_id"], unique=False
        )

    op.create_table(
        "journal_entries",
        sa.Column("seq", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("transfer_id", BIG_ID, nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_journal_entries_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id",
            name=op.f("ck_journal_entries_distinct_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["accounts.id"],
            name=op.f("fk_journal_entries_credit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["accounts.id"],
            name=op.f("fk_journal_entries_debit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_journal_entries_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_entries")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_entries_credit_account_id"), ["credit_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journal_entries_debit_account_id"), ["debit_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journal_entries_transfer_id"), ["transfer_id"], unique=False
        )

    _seed_rows()
    _append_only_journal()


def _seed_rows() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    sandbox = sa.table("sandbox", sa.column("id", sa.Integer))
    op.bulk_insert(sandbox, [{"id": 1}])
    head = sa.table(
        "ledger_head",
        sa.column("id", sa.Integer),
        sa.column("last_seq", sa.BigInteger),
        sa.column("last_hash", sa.String),
        sa.column("last_transfer_id", sa.BigInteger),
    )
    op.bulk_insert(
        head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH, "last_transfer_id": 0}]
    )
    accounts = sa.table(
        "accounts",
        sa.column("code", sa.String),
        sa.column("asset", sa.String),
        sa.column("kind", sa.String),
        sa.column("may_go_negative", sa.Boolean),
        sa.column("created_at", sa.DateTime),
    )
    op.bulk_insert(
        accounts,
        [
            # e-CNY issued and not redeemed: its balance is minus the amount outstanding.
            {
                "code": "CB:ISSUANCE",
                "asset": "ECNY",
                "kind": "cb_issuance",
                "may_go_negative": True,
                "created_at": now,
            },
            # Where reserve deposits come from: minus all reserves ever deposited.
            {
                "code": "CB:RESERVE:FUNDING",
                "asset": "RESERVE",
                "kind": "cb_reserve_funding",
                "may_go_negative": True,
                "created_at": now,
            },
            # Reserves consumed by issuance: outstanding x reserve ratio.
            {
                "code": "CB:RESERVE:HELD",
                "asset": "RESERVE",
                "kind": "cb_reserve_held",
                "may_go_negative": False,
                "created_at": now,
            },
        ],
    )


def _append_only_journal() -> None:
    """Nothing in the product updates or deletes posted transfers or journal rows."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ecny_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the % table is append-only', TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        for table in ("journal_entries", "transfers"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ecny_refuse_change()"
            )
    else:
        for table in ("journal_entries", "transfers"):
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the {table} table is append-only'); END"
                )


def _drop_append_only_journal() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("journal_entries", "transfers"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ecny_refuse_change()")
    else:
        for table in ("journal_entries", "transfers"):
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only_journal()
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_debit_account_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_credit_account_id"))

    op.drop_table("journal_entries")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_to_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_to_operator_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_from_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_from_operator_id"))

    op.drop_table("transfers")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_operator_id"))

    op.drop_table("accounts")
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallets_parent_id"))
        batch_op.drop_index(batch_op.f("ix_wallets_operator_id"))

    op.drop_table("wallets")
    op.drop_table("api_keys")
    op.drop_table("sandbox")
    op.drop_table("operators")
    op.drop_table("ledger_head")
