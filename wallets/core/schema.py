"""The database schema, as SQLAlchemy Core tables.

Alembic migrations are the only way it reaches a database; a test checks that
these tables and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# 64-bit on PostgreSQL, the rowid alias on SQLite.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The largest id the API takes, by column: a 32-bit column (sa.Integer) holds
# 2**31 - 1; a 64-bit one (Id) more than a JSON number holds exactly, so the
# API stops at 2**53. A larger id names nothing (404 in a path, 422 elsewhere).
MAX_ID32 = 2**31 - 1
MAX_ID = 2**53
Fen = sa.BigInteger


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _created_at() -> sa.Column:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


sandbox = sa.Table(
    "sandbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("settlement_model", sa.String(16), nullable=False, server_default="gross"),
    sa.Column("reserve_ratio", sa.String(12), nullable=False, server_default="1.00"),
    # The sandbox clock: fixed at clock_fixed when set, else wall time + offset.
    sa.Column("clock_fixed", UTCDateTime(), nullable=True),
    sa.Column("clock_offset_us", sa.BigInteger, nullable=False, server_default="0"),
    # The active rule profile (wallets/rules/profiles/<name>.yaml).
    sa.Column("profile", sa.String(32), nullable=False, server_default="default"),
    # Deferred net settlement: an operator's default net debit cap is its free
    # reserve times this; an alert when its net debit passes this share of its
    # cap; the window closes by itself at this local time (UTC+8) every day.
    sa.Column("ndc_reserve_ratio", sa.String(12), nullable=False, server_default="1.00"),
    sa.Column("ndc_alert_percent", sa.String(8), nullable=False, server_default="80"),
    sa.Column("settlement_cutoff", sa.String(5), nullable=True),
    # A profile document of the sandbox's own (JSON), when one was given instead of a shipped name.
    sa.Column("profile_document", sa.Text, nullable=True),
    # How many times the sandbox was reset (wallets/services/reset.py): the
    # generation a process's cache of immutable rows was read under (Tx.cached).
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("id = 1", name="singleton"),
    sa.CheckConstraint("settlement_model IN ('gross', 'deferred_net')", name="settlement_model"),
)

# The head of the journal: the last sequence number and hash, and the last
# transfer id. Every posting locks this row last, which gives a gap-free
# sequence in commit order.
ledger_head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("last_transfer_id", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="singleton"),
)

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    # Set by the central bank; None: derived from the free reserve (deferred net settlement).
    sa.Column("net_debit_cap", Fen, nullable=True),
    _created_at(),
)

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False, index=True),
    sa.Column("wallet_class", sa.SmallInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("holder_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(2), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("phone_hash", sa.String(64), nullable=True),
    sa.Column("parent_id", Id, sa.ForeignKey("wallets.id"), nullable=True, index=True),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _created_at(),
    # A merchant wallet's category (wallets/retail/wallet.py: MERCHANT_CATEGORIES),
    # which red-envelope campaigns may require of the merchants they pay.
    sa.Column("merchant_category", sa.String(24), nullable=True),
    sa.CheckConstraint("wallet_class BETWEEN 1 AND 4", name="wallet_class"),
    sa.CheckConstraint("kind IN ('personal', 'merchant')", name="kind"),
    sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name="status"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Readable and stable: CB:ISSUANCE, OP:ICBC:VAULT, W:42:ECNY ...
    sa.Column("code", sa.String(80), nullable=False, unique=True),
    sa.Column("asset", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True, index=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=True),
    # Contra and source accounts may go below zero; everything a holder owns may not.
    sa.Column("may_go_negative", sa.Boolean, nullable=False),
    sa.Column("debits_posted", Fen, nullable=False, server_default="0"),
    sa.Column("credits_posted", Fen, nullable=False, server_default="0"),
    _created_at(),
    sa.UniqueConstraint("wallet_id", "asset"),
    sa.CheckConstraint(
        "may_go_negative OR credits_posted - debits_posted >= 0",
        name="not_negative",
    ),
)

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("asset", sa.String(40), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("from_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=True, index=True),
    sa.Column("to_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=True, index=True),
    sa.Column(
        "from_operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True, index=True
    ),
    sa.Column(
        "to_operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True, index=True
    ),
    sa.Column("reference", sa.String(140), nullable=True),
    sa.Column("posted_at", UTCDateTime(), nullable=False),
    # The client's own id for the transfer (batch items): the idempotency key
    # of one item, unique per API key (client_scope).
    sa.Column("client_scope", sa.Integer, nullable=True),
    sa.Column("client_id", sa.String(64), nullable=True),
    # A refund names the payment it refunds; a capture, void or expiry its hold.
    # (Indexes, not constraints: adding them never rebuilds this append-only table.)
    sa.Column("refund_of", Id, nullable=True, index=True),
    sa.Column("hold_id", Id, nullable=True, index=True),
    # Deferred net settlement: the window a cross-operator transfer counts in.
    sa.Column("window_id", Id, nullable=True, index=True),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index("ux_transfers_client", "client_scope", "client_id", unique=True),
)

# The journal: one row per movement between two accounts, hash-chained.
journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("seq", Id, primary_key=True, autoincrement=False),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False, index=True),
    sa.Column(
        "debit_account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True
    ),
    sa.Column(
        "credit_account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True
    ),
    sa.Column("asset", sa.String(40), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("posted_at", UTCDateTime(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True),
    sa.Column("casino_ref", sa.String(64), nullable=True),
    sa.Column("label", sa.String(200), nullable=True),
    _created_at(),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(
        "role IN ('admin', 'central_bank', 'operator', 'merchant', 'supervisor', 'auditor')",
        name="role",
    ),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("api_key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    # The response's headers of its own (JSON), such as a resource's ETag: a
    # replay sends them as the first answer did. None: none.
    sa.Column("response_headers", sa.Text, nullable=True),
    # Wall-clock times: staleness of an in-flight claim is real time, not sandbox time.
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("api_key_id", "key"),
    sa.CheckConstraint("state IN ('in_flight', 'completed')", name="state"),
)

# Two-phase payments. The held funds move at once from the payer's wallet to
# its operator's HOLDS escrow account (a posted, hash-chained entry); a capture
# moves them on to the payee, a void or an expiry back to the payer.
holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("payee_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("captured", Fen, nullable=False, server_default="0"),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reference", sa.String(140), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    # The sandbox day (UTC+8) whose outgoing usage the hold counted against.
    sa.Column("usage_day", sa.Date, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # A conditional payment (docs/programmable.md): captured when the sandbox
    # clock reaches expires_at ("time"), or when the confirmer wallet's operator
    # confirms it before then ("confirmation"); NULL: a plain hold.
    sa.Column("condition", sa.String(16), nullable=True),
    sa.Column("confirmer_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=True),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("captured >= 0 AND captured <= amount", name="captured_range"),
    sa.CheckConstraint("status IN ('pending', 'captured', 'voided', 'expired')", name="status"),
    sa.Index("ix_holds_status_expires_at", "status", "expires_at"),
    sa.CheckConstraint(
        "condition IS NULL OR condition IN ('time', 'confirmation')", name="condition"
    ),
)

# Dual offline payments (wallets/retail/offline.py, docs/offline.md). A purse
# is a hardware wallet loaded from a wallet: its loaded e-CNY sit in its
# operator's OFFLINE account; ``spent`` is what its honoured vouchers took,
# ``unloaded`` what went back to the wallet; ``counter`` the highest voucher
# counter seen.
offline_purses = sa.Table(
    "offline_purses",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    # The device's Ed25519 public key, the 32 raw bytes in base64.
    sa.Column("device_key", sa.String(44), nullable=False, unique=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("frozen", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("loaded", Fen, nullable=False, server_default="0"),
    sa.Column("spent", Fen, nullable=False, server_default="0"),
    sa.Column("unloaded", Fen, nullable=False, server_default="0"),
    sa.Column("counter", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("frozen_at", UTCDateTime(), nullable=True),
    sa.Column("unload_due_at", UTCDateTime(), nullable=True),
    sa.Column("unloaded_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint("status IN ('active', 'unloading', 'unloaded')", name="status"),
    sa.CheckConstraint(
        "spent >= 0 AND unloaded >= 0 AND spent + unloaded <= loaded", name="amounts"
    ),
    sa.Index("ix_offline_purses_status_unload_due_at", "status", "unload_due_at"),
)

# The signed payment vouchers synced, each once (``voucher_id``: the SHA-256
# of its canonical encoding). ``status``: honoured (paid from the payer's
# purse) or refused (``refusal`` says why; the loss bearer paid the payee);
# ``credit``: the payee's money pending until ``validate_at``, then validated.
offline_vouchers = sa.Table(
    "offline_vouchers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("voucher_id", sa.String(64), nullable=False, unique=True),
    sa.Column("payer_purse_id", Id, sa.ForeignKey("offline_purses.id"), nullable=False),
    sa.Column("payee_purse_id", Id, sa.ForeignKey("offline_purses.id"), nullable=False, index=True),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("counter", sa.BigInteger, nullable=False),
    sa.Column("signed_at", UTCDateTime(), nullable=False),
    sa.Column("signature", sa.String(88), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("refusal", sa.String(40), nullable=True),
    # The operator that paid the payee in the purse's place (the loss bearer): refused only.
    sa.Column("covered_by", sa.Integer, sa.ForeignKey("operators.id"), nullable=True),
    sa.Column("credit", sa.String(10), nullable=False),
    sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    sa.Column("validate_at", UTCDateTime(), nullable=False),
    sa.Column("validated_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("counter > 0", name="counter_positive"),
    sa.CheckConstraint("status IN ('honoured', 'refused')", name="status"),
    sa.CheckConstraint("credit IN ('pending', 'validated')", name="credit"),
    sa.Index("ix_offline_vouchers_payer_purse_id_counter", "payer_purse_id", "counter"),
    sa.Index("ix_offline_vouchers_credit_validate_at", "credit", "validate_at"),
)

# Outgoing amounts per wallet per sandbox day and year (UTC+8), for the
# daily and annual caps of the wallet classes.
wallet_usage = sa.Table(
    "wallet_usage",
    metadata,
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), primary_key=True),
    sa.Column("period", sa.String(4), primary_key=True),
    sa.Column("period_start", sa.Date, primary_key=True),
    sa.Column("amount_out", Fen, nullable=False),
    sa.CheckConstraint("period IN ('day', 'year')", name="period"),
    sa.CheckConstraint("amount_out >= 0", name="amount_out_not_negative"),
)

# Lower limits an operator sets for its wallets of one class (None: the profile's).
operator_limits = sa.Table(
    "operator_limits",
    metadata,
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), primary_key=True),
    sa.Column("wallet_class", sa.SmallInteger, primary_key=True),
    sa.Column("balance_cap", Fen, nullable=True),
    sa.Column("single_payment", Fen, nullable=True),
    sa.Column("daily_out", Fen, nullable=True),
    sa.Column("annual_out", Fen, nullable=True),
)

# ---- audit -----------------------------------------------------------

# The audit log: one row per state-changing API call, accepted or refused.
# Append-only like the journal. No secrets and no request bodies: a summary of
# the request's plain fields at most, without personal data.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),  # sandbox time
    sa.Column("wall_at", UTCDateTime(), nullable=False),  # real time
    sa.Column("api_key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True, index=True),
    sa.Column("role", sa.String(16), nullable=True),
    sa.Column("operator_code", sa.String(32), nullable=True),
    sa.Column("casino_ref", sa.String(64), nullable=True),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("replayed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("outcome", sa.String(12), nullable=False),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("resource", sa.String(64), nullable=True),
    sa.Column("summary", sa.String(1000), nullable=True),
    sa.CheckConstraint("outcome IN ('succeeded', 'refused', 'failed')", name="outcome"),
)

# Export jobs of the API: the files themselves live on disk (Settings.export_dir).
export_jobs = sa.Table(
    "export_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("api_key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Column("filters", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", UTCDateTime(), nullable=False),  # sandbox time
    sa.Column("started_at", UTCDateTime(), nullable=True),  # wall time from here on
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("head_seq", sa.BigInteger, nullable=True),
    sa.Column("head_hash", sa.String(64), nullable=True),
    sa.Column("files", sa.Text, nullable=True),  # JSON: name, rows, bytes, sha256
    sa.Column("error", sa.String(500), nullable=True),
    # The error's code when the job failed with a refusal (e.g. ledger_chain_broken).
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
)

# Signed checkpoints of the journal head (wallets/audit/checkpoints.py): taken on
# a schedule of the sandbox clock (``period`` set, one per period) and on every
# export (``period`` None). Their signature is a digest's.
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("time", sa.String(40), nullable=False),  # sandbox time, as signed
    sa.Column("signature", sa.String(100), nullable=False),
    sa.Column("public_key_sha256", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(12), nullable=False),
    sa.Column("period", sa.BigInteger, nullable=True, unique=True),
    sa.Column("export_id", sa.String(40), nullable=True),
    sa.CheckConstraint("reason IN ('schedule', 'export')", name="reason"),
)

# The last camt.053 electronic sequence number (ElctrncSeqNb) given per account.
statement_numbers = sa.Table(
    "statement_numbers",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("last_number", sa.BigInteger, nullable=False),
    # The export that gave it (a concurrent export is detected by it).
    sa.Column("export_id", sa.String(40), nullable=False),
)


# ---- settlement between operators ------------------------------------------------

# Deferred net settlement windows: exactly one OPEN at a time; closing one
# computes the operators' multilateral net positions and settles them in tier 1.
settlement_windows = sa.Table(
    "settlement_windows",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("settled_at", UTCDateTime(), nullable=True),
    sa.Column("settlement_transfer_id", Id, nullable=True),
    sa.Column("report", sa.Text, nullable=True),  # JSON, stored at settlement
    sa.CheckConstraint("status IN ('OPEN', 'CLOSED', 'SETTLED')", name="status"),
)

# Each operator's running figures in a window.
window_positions = sa.Table(
    "window_positions",
    metadata,
    sa.Column("window_id", Id, sa.ForeignKey("settlement_windows.id"), primary_key=True),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), primary_key=True),
    sa.Column("sent", Fen, nullable=False, server_default="0"),
    sa.Column("received", Fen, nullable=False, server_default="0"),
    # The most it owed at any moment of the window (sent - received at its peak).
    sa.Column("peak_debit", Fen, nullable=False, server_default="0"),
    sa.Column("net_debit_cap", Fen, nullable=True),  # recorded at close
)

# ---- casinos, supervision ------------------------------------

# A casino: its merchant wallet (at an operator), the government treasury
# wallet its gaming taxes go to, its chip asset CHIP:<ref> with the casino's
# chip issuance account, and the float its wallet keeps after a day's sweep.
casinos = sa.Table(
    "casinos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ref", sa.String(16), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("merchant_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, unique=True),
    sa.Column("treasury_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("chip_account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("float_amount", Fen, nullable=False),
    _created_at(),
    # JSON: contribution name (of the rule profile) -> the wallet it is paid to.
    sa.Column("beneficiaries", sa.Text, nullable=True),
    # The chips in circulation DICJ approved (Law 7/2022), fen; NULL: none recorded.
    sa.Column("chips_approved", Fen, nullable=True),
    # The currency of its chips (CNY, HKD or MOP); chip amounts are its cents/avos.
    sa.Column("chip_currency", sa.String(3), nullable=False, server_default="CNY"),
    sa.CheckConstraint("float_amount >= 0", name="float_not_negative"),
    sa.CheckConstraint("chip_currency IN ('CNY', 'HKD', 'MOP')", name="chip_currency"),
)

# Every cage operation, with the transfers it posted: the casino's own record,
# which the detection rules and the gaming-day close read.
casino_transactions = sa.Table(
    "casino_transactions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("holder_id", sa.String(64), nullable=False),
    sa.Column("gaming_day", sa.Date, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    # The buy-in or cash-out amount, or the amount wagered.
    sa.Column("amount", Fen, nullable=False),
    # Plays only: the chips paid back to the player (stake included; 0 when lost).
    sa.Column("payout", Fen, nullable=False, server_default="0"),
    sa.Column("ecny_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=True),
    sa.Column("chip_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False),
    sa.Column("payout_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=True),
    # Buy-ins and cash-outs: the e-CNY paid (fen) and the rate it converted at
    # (chips of the casino's currency per CNY, a decimal string); NULL for plays.
    sa.Column("ecny_amount", Fen, nullable=True),
    sa.Column("rate", sa.String(24), nullable=True),
    sa.CheckConstraint("kind IN ('buy_in', 'play', 'cash_out')", name="kind"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("payout >= 0", name="payout_not_negative"),
    sa.Index("ix_casino_transactions_casino_id_gaming_day", "casino_id", "gaming_day"),
    sa.Index("ix_casino_transactions_casino_id_holder_id_at", "casino_id", "holder_id", "at"),
)

# Payment codes (wallets/retail/payment_codes.py): a holder's consent to one cage
# debit. Only the code's SHA-256 hash is kept, as for API keys.
payment_codes = sa.Table(
    "payment_codes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("max_amount", Fen, nullable=True),
    sa.Column("api_key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Column("used_by_casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=True),
    sa.CheckConstraint("max_amount IS NULL OR max_amount > 0", name="max_amount_positive"),
)

# Per player per gaming day: what the rules and the close read without rescanning.
casino_player_days = sa.Table(
    "casino_player_days",
    metadata,
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), primary_key=True),
    sa.Column("gaming_day", sa.Date, primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), primary_key=True),
    sa.Column("holder_id", sa.String(64), nullable=False),
    sa.Column("buy_ins", Fen, nullable=False, server_default="0"),
    sa.Column("cash_outs", Fen, nullable=False, server_default="0"),
    sa.Column("wagered", Fen, nullable=False, server_default="0"),
    sa.Column("paid_out", Fen, nullable=False, server_default="0"),
    sa.Column("transactions", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_casino_player_days_holder_id_gaming_day", "holder_id", "gaming_day"),
)

# Closed gaming days and their reports.
gaming_days = sa.Table(
    "gaming_days",
    metadata,
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), primary_key=True),
    sa.Column("gaming_day", sa.Date, primary_key=True),
    sa.Column("closed_at", UTCDateTime(), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("tax_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=True),
    sa.Column("contribution_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=True),
    sa.Column("sweep_transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=True),
    sa.Column("report", sa.Text, nullable=False),  # JSON
)

# Gaming promoters (junkets): licensed by DICJ, each tied to one casino
# (concessionaire); paid a commission on their players' rolling at each close.
promoters = sa.Table(
    "promoters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("licence", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=False),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("commission_rate", sa.String(12), nullable=False),  # a decimal string
    _created_at(),
)

# The players a promoter brings to a casino: one promoter per player and casino.
promoter_players = sa.Table(
    "promoter_players",
    metadata,
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), primary_key=True),
    sa.Column("promoter_id", sa.Integer, sa.ForeignKey("promoters.id"), nullable=False, index=True),
    sa.Column("attached_at", UTCDateTime(), nullable=False),
)

# Gaming credit (Law 7/2024: only concessionaires grant it): a player's line at
# a casino, drawn as chips, repaid in e-CNY; and each draw and repayment.
credit_lines = sa.Table(
    "credit_lines",
    metadata,
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), primary_key=True),
    sa.Column("credit_limit", Fen, nullable=False),
    sa.Column("outstanding", Fen, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("credit_limit >= 0", name="limit_not_negative"),
    sa.CheckConstraint("outstanding >= 0", name="outstanding_not_negative"),
)
credit_movements = sa.Table(
    "credit_movements",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=False),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("gaming_day", sa.Date, nullable=False),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False),
    # Repayments: the e-CNY paid (fen) and the rate (chips per CNY); NULL for draws.
    sa.Column("ecny_amount", Fen, nullable=True),
    sa.Column("rate", sa.String(24), nullable=True),
    sa.CheckConstraint("kind IN ('draw', 'repayment')", name="kind"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index("ix_credit_movements_casino_id_gaming_day", "casino_id", "gaming_day"),
)

# Chips one player hands another at the cage (FATF/APG 2009: pooling).
chip_handovers = sa.Table(
    "chip_handovers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=False),
    sa.Column("from_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("to_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("from_holder_id", sa.String(64), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("gaming_day", sa.Date, nullable=False),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(
        "ix_chip_handovers_casino_id_gaming_day_to_wallet_id",
        "casino_id",
        "gaming_day",
        "to_wallet_id",
    ),
)

# The other transfers a close posted (one per contribution, a promoter's
# commission and its withholding), with their purpose.
gaming_day_transfers = sa.Table(
    "gaming_day_transfers",
    metadata,
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=False),
    sa.Column("gaming_day", sa.Date, nullable=False),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), primary_key=True),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Index("ix_gaming_day_transfers_casino_id_gaming_day", "casino_id", "gaming_day"),
)

# Persons barred from gaming (Law 10/2012): by pseudonymous holder id, at one
# casino or (casino_id NULL) at all.
exclusions = sa.Table(
    "exclusions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("holder_id", sa.String(64), nullable=False, index=True),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("revocation_requested_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_from", UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('self', 'family')", name="kind"),
    sa.CheckConstraint("ends_on >= starts_on", name="dates"),
)

# Alerts of the detection rules (and of any other code that raises them):
# open -> acknowledged -> escalated (to an STR) | dismissed.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("type", sa.String(32), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("casino_id", sa.Integer, sa.ForeignKey("casinos.id"), nullable=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=True, index=True),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True),
    sa.Column("raised_at", UTCDateTime(), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON
    # One alert per fact: raising again with the same key returns the first.
    sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("str_reference", sa.String(40), nullable=True),
    # The escalation's note or the dismissal's reason.
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint(
        "status IN ('open', 'acknowledged', 'escalated', 'dismissed')", name="status"
    ),
    sa.Index("ix_alerts_casino_id_status", "casino_id", "status"),
    sa.Index("ix_alerts_status_due_at", "status", "due_at"),
)

# ---- managed anonymity (wallets/retail/anonymity.py, docs/anonymity.md) -----

# What the operator that opened a wallet keeps of its holder beside the wallet
# row: the phone number (class 4's only identity) and a name where given. No
# read of any role returns them; an approved identity reveal does, once.
holder_identities = sa.Table(
    "holder_identities",
    metadata,
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), primary_key=True, autoincrement=False),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("phone", sa.String(16), nullable=True),
    sa.Column("holder_name", sa.String(200), nullable=True),
)

# Identity reveals: requested -> approved | rejected | (expired) -> read. The
# expiry is the sandbox clock passing expires_at while still requested: a
# status derived on read, never stored.
identity_reveals = sa.Table(
    "identity_reveals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("legal_basis", sa.String(40), nullable=False),
    sa.Column("case_reference", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_by_key_id", sa.Integer, nullable=True),
    sa.Column("requested_by_role", sa.String(16), nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("decided_by_key_id", sa.Integer, nullable=True),
    sa.Column("decided_by_role", sa.String(16), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("read_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'approved', 'rejected', 'read')", name="status"),
)

# ---- events and webhooks (wallets/events/, docs/events.md) ------------------

# The outbox: one row per observable change, written in the change's own
# transaction. Ids are given in commit order (event_head is locked last, just
# before COMMIT), so a reader paging by id never skips one committed later.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),  # sandbox time
    # Who may see it (wallets/events/feed.py): the operators it touches, the
    # casino it belongs to, and whether the central bank sees it.
    sa.Column("operator_id", sa.Integer, nullable=True),
    sa.Column("counter_operator_id", sa.Integer, nullable=True),
    sa.Column("casino_ref", sa.String(16), nullable=True),
    sa.Column("central_bank", sa.Boolean, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON: the object
    sa.Index("ix_events_type_id", "type", "id"),
)

event_head = sa.Table(
    "event_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="singleton"),
)

# Testers' webhook endpoints. Each belongs to the scope of the key that made
# it (role, operator, casinos) and is sent the events that scope may see.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("event_types", sa.Text, nullable=True),  # JSON list; NULL: every type
    sa.Column("secret", sa.String(100), nullable=False),
    # The secret before the last rotation, still signing beside the new one until then.
    sa.Column("previous_secret", sa.String(100), nullable=True),
    sa.Column("previous_until", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=True),
    sa.Column("casino_ref", sa.String(200), nullable=True),
    sa.Column("api_key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
    # The last event considered for this endpoint (its deliveries are queued up to it).
    sa.Column("cursor", sa.BigInteger, nullable=False),
    # Failed attempts in a row; the endpoint is disabled at the setting's limit.
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    # A dispatcher's claim on the endpoint (wall time): one sender at a time, in order.
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    _created_at(),
    sa.CheckConstraint("status IN ('enabled', 'disabled')", name="status"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("event_id", Id, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),  # sandbox time
    sa.Column("last_attempt_at", UTCDateTime(), nullable=True),  # sandbox time
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=True),
    sa.Column("error", sa.String(300), nullable=True),
    # A manual redelivery: sent once, at the next dispatch, outside the order.
    sa.Column("manual", sa.Boolean, nullable=False, server_default=sa.false()),
    _created_at(),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    sa.Index("ix_webhook_deliveries_endpoint_id_status_id", "endpoint_id", "status", "id"),
)

# Red envelopes (DOMAIN.md section 1, the Shenzhen Luohu pilot): a campaign's
# money leaves its issuer's wallet for the campaign's escrow account (ENV:<id>)
# when it is created; envelopes are granted or claimed (a row each, no money
# moves), spent at the merchants the campaign's conditions allow (escrow ->
# merchant, inside the holder's payment) and what is left goes back to the
# issuer when the sandbox clock passes valid_until.
envelope_campaigns = sa.Table(
    "envelope_campaigns",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("issuer_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String(140), nullable=False),
    sa.Column("amount", Fen, nullable=False),  # per envelope
    sa.Column("envelopes", sa.Integer, nullable=False),
    sa.Column("granted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimable", sa.Boolean, nullable=False),
    sa.Column("valid_from", UTCDateTime(), nullable=False),
    sa.Column("valid_until", UTCDateTime(), nullable=False),
    # The spending conditions: comma-separated lists (NULL: any), a minimum payment.
    sa.Column("regions", sa.String(200), nullable=True),
    sa.Column("categories", sa.String(400), nullable=True),
    sa.Column("min_payment", Fen, nullable=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("returned", Fen, nullable=False, server_default="0"),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    _created_at(),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("envelopes > 0", name="envelopes_positive"),
    sa.CheckConstraint("granted >= 0 AND granted <= envelopes", name="granted_range"),
    sa.CheckConstraint("valid_until > valid_from", name="validity"),
    sa.CheckConstraint("status IN ('active', 'ended')", name="status"),
    sa.Index("ix_envelope_campaigns_status_valid_until", "status", "valid_until"),
)
envelope_grants = sa.Table(
    "envelope_grants",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("campaign_id", Id, sa.ForeignKey("envelope_campaigns.id"), nullable=False),
    sa.Column("wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False, index=True),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("spent", Fen, nullable=False, server_default="0"),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("campaign_id", "wallet_id"),
    sa.CheckConstraint("spent >= 0 AND spent <= amount", name="spent_range"),
    sa.CheckConstraint("source IN ('granted', 'claimed')", name="source"),
)
envelope_spends = sa.Table(
    "envelope_spends",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("grant_id", Id, sa.ForeignKey("envelope_grants.id"), nullable=False),
    sa.Column(
        "campaign_id", Id, sa.ForeignKey("envelope_campaigns.id"), nullable=False, index=True
    ),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False, index=True),
    sa.Column("merchant_wallet_id", Id, sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("amount", Fen, nullable=False),
    sa.Column("spent_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
)
