"""The examples of the OpenAPI document: a request body for every operation
that takes one, and the path parameters, all of the demo sandbox that
`make run` seeds (wallets/seed.py: operators ICBC, BOC, BOCMO; wallets 1-5 at
ICBC, 6-8 at BOC, 9-14 at BOCMO; casino COTAI with cage wallet 13 and treasury
wallet 14), so that Swagger UI's "Try it out" sends a request that works as it
is. tests/test_openapi.py runs every one of them on a freshly seeded demo.

A value only a response can tell (a payment code's secret, the id of a hold
you made) is a placeholder: the operation's description says where it comes from."""

from __future__ import annotations

from typing import Any

# Request bodies, by operationId.
REQUEST_BODIES: dict[str, dict[str, Any]] = {
    "createOperator": {"code": "CCB", "name": "China Construction Bank"},
    "depositReserve": {"amount": "1000000.00", "reference": "reserve top-up"},
    "issue": {"amount": "100000.00", "reference": "issuance"},
    "redeem": {"amount": "10000.00", "reference": "redemption"},
    "setLimits": {
        "balance_cap": None,
        "single_payment": "20000.00",
        "daily_out": "50000.00",
        "annual_out": None,
    },
    "openWallet": {
        "operator": "ICBC",
        "wallet_class": 2,
        "kind": "personal",
        "region": "CN",
        "birth_date": "1990-05-01",
        "label": "Chen Jing (class 2)",
    },
    "updateWallet": {"label": "Wang Fang (savings)"},
    "fund": {"amount": "2500.50", "reference": "salary"},
    "defund": {"amount": "100.00", "reference": "back to the bank"},
    "issuePaymentCode": {"max_amount": "20000.00"},
    "createTransfer": {
        "from_wallet": 2,
        "to_wallet": 10,
        "amount": "100.00",
        "reference": "dinner",
    },
    "createBatch": {
        "transfers": [
            {"id": "order-1", "from_wallet": 2, "to_wallet": 10, "amount": "25.00"},
            {"id": "order-2", "from_wallet": 1, "to_wallet": 5, "amount": "8.50", "linked": True},
            {"id": "order-3", "from_wallet": 5, "to_wallet": 1, "amount": "8.50"},
        ]
    },
    "refund": {"amount": "10.00", "reference": "returned item"},
    "createHold": {
        "from_wallet": 2,
        "to_wallet": 5,
        "amount": "300.00",
        "timeout_seconds": 3600,
        "reference": "tea set, deposit",
    },
    "captureHold": {"amount": "250.00"},
    "updateSettings": {
        "model": "deferred_net",
        "ndc_reserve_ratio": "0.5",
        "ndc_alert_percent": "80",
        "cutoff": "17:00",
    },
    "setNetDebitCap": {"net_debit_cap": "5000000.00"},
    "createExport": {"operator": "ICBC", "formats": ["csv", "jsonl", "camt053"]},
    "setClock": {"now": "2026-03-02T09:00:00+08:00", "fixed": True},
    "advanceClock": {"seconds": 3600},
    "createKey": {"role": "operator", "operator": "ICBC", "label": "my test suite"},
    "setProfile": {"name": "macau"},
    "registerCasino": {
        "ref": "LISBOA",
        "name": "Lisboa casino",
        "operator": "BOCMO",
        "treasury_wallet": 14,
        "float": "500000.00",
    },
    "buyIn": {
        "player": 2,
        "amount": "10000.00",
        "payment_code": "pc_from-POST-v1-wallets-2-payment-codes",
        "reference": "table 7",
    },
    "play": {"player": 2, "wager": "2000.00", "payout": "3500.00", "reference": "baccarat"},
    "cashOut": {"player": 2, "amount": "5000.00", "reference": "table 7"},
    "escalateAlert": {"note": "STR filed with GIF"},
    "dismissAlert": {"reason": "source of funds documented"},
    "addExclusion": {"holder_id": "h-self-excluded-1", "kind": "self", "ends_on": "2027-12-31"},
}

# Path parameters, by name (the same name means the same thing in every path).
PATH_PARAMETERS: dict[str, Any] = {
    "code": "ICBC",
    "wallet_id": 2,
    "wallet_class": 2,
    "ref": "COTAI",
}
