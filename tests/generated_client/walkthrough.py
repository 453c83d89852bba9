"""The README's walk-through with a client generated from the sandbox's own
OpenAPI document: issuance, funding, a cross-operator payment with an
Idempotency-Key, its replay, and two refusals read as ``Problem``.

``ecny_client`` is the package openapi-python-client generates from
``/openapi.json``: tests/test_generated_client.py generates it into a
temporary folder, runs :func:`walk` against a live server, and type-checks
this file with ``mypy --strict`` (so every field the walk reads must be typed
as present: ``Decimal(paid.amount)`` fails to check if ``amount`` may be unset)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from ecny_client import AuthenticatedClient
from ecny_client.api.audit import reconciliation
from ecny_client.api.operators import get_operator, issue
from ecny_client.api.transfers import create_transfer
from ecny_client.api.wallets import fund, get_balance
from ecny_client.models import (
    AmountBody,
    BalanceOut,
    OperatorOut,
    Problem,
    ReconciliationOut,
    TransferCreate,
    TransferOut,
)

T = TypeVar("T")


@dataclass
class Walk:
    issued: TransferOut
    funded: TransferOut
    paid: TransferOut
    paid_amount: Decimal
    replayed: TransferOut
    replayed_header: str | None
    balance: Decimal
    operator: OperatorOut
    reconciled: bool
    refused: Problem
    invalid: Problem


def expect(answer: object, kind: type[T]) -> T:
    """The parsed answer, which must be a ``kind`` (a model, or ``Problem``)."""
    if not isinstance(answer, kind):
        raise AssertionError(f"expected a {kind.__name__}, got {answer!r}")
    return answer


def walk(base_url: str, central_bank: str, icbc: str, auditor: str) -> Walk:
    """The walk-through of README.md, step by step, with the keys of the demo's
    central bank, ICBC operator and auditor."""
    cb = AuthenticatedClient(base_url=base_url, token=central_bank)
    bank = AuthenticatedClient(base_url=base_url, token=icbc)
    audit = AuthenticatedClient(base_url=base_url, token=auditor)

    # 1. The central bank issues CNY 1,000,000 of e-CNY to ICBC against its reserve.
    issued = issue.sync(
        code="ICBC",
        client=cb,
        body=AmountBody(amount="1000000.00", reference="walk-through"),
        idempotency_key="walkthrough-issue-1",
    )
    # 2. ICBC funds wallet 2 with CNY 2,500.50 from its vault.
    funded = fund.sync(
        wallet_id=2,
        client=bank,
        body=AmountBody(amount="2500.50"),
        idempotency_key="walkthrough-fund-1",
    )
    # 3. Wallet 2 pays wallet 10 (at BOCMO): a cross-operator payment ...
    payment = TransferCreate(from_wallet=2, to_wallet=10, amount="1234.56", reference="dinner")
    paid = expect(
        create_transfer.sync(client=bank, body=payment, idempotency_key="walkthrough-pay-1"),
        TransferOut,
    )
    # ... and the same request again with the same key: the first answer, replayed.
    again = create_transfer.sync_detailed(
        client=bank, body=payment, idempotency_key="walkthrough-pay-1"
    )
    # 4. The balance, and ICBC's figures in both tiers.
    balance = expect(get_balance.sync(wallet_id=2, client=bank), BalanceOut)
    operator = expect(get_operator.sync(code="ICBC", client=bank), OperatorOut)
    # 5. Reconcile: every invariant of the ledger.
    report = expect(reconciliation.sync(client=audit), ReconciliationOut)
    # Refusals are problems with a stable code: more than the wallet holds ...
    too_much = TransferCreate(from_wallet=2, to_wallet=10, amount="1000000.00")
    refused = expect(create_transfer.sync(client=bank, body=too_much), Problem)
    # ... and an amount with three decimals.
    bad = TransferCreate(from_wallet=2, to_wallet=10, amount="1.001")
    invalid = expect(create_transfer.sync(client=bank, body=bad), Problem)
    return Walk(
        issued=expect(issued, TransferOut),
        funded=expect(funded, TransferOut),
        paid=paid,
        paid_amount=Decimal(paid.amount),
        replayed=expect(again.parsed, TransferOut),
        replayed_header=again.headers.get("Idempotent-Replayed"),
        balance=Decimal(balance.balance),
        operator=operator,
        reconciled=report.ok,
        refused=refused,
        invalid=invalid,
    )
