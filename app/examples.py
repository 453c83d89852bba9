"""The examples of the OpenAPI document: a request body for every operation
that takes one, and the path parameters, all of the demo sandbox that
`make run` seeds (wallets/seed.py: operators ICBC, BOC, BOCMO; wallets 1-5 at
ICBC, 6-8 at BOC, 9-14 at BOCMO; casino COTAI with cage wallet 13 and treasury
wallet 14), so that Swagger UI's "Try it out" sends a request that works as it
is. tests/test_openapi.py runs every one of them on a freshly seeded demo.

Some answers have examples too (``RESPONSE_BODIES``): what the demo answers
to the request examples, as a generated example of their schema would not say.

A value only an answer can tell is a placeholder (the buy-in's payment code,
from POST /v1/wallets/2/payment-codes), or has no example (the id of a hold or a
transfer you made: a path parameter Swagger UI leaves for you to fill in)."""

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
        "holder_name": "Chen Jing",
        "label": "class 2",
    },
    "updateWallet": {"label": "savings"},
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
    # The tea house (wallet 5) holds the 250.00 of the capture above.
    "createCampaign": {
        "issuer_wallet": 5,
        "name": "Luohu consumption vouchers",
        "amount": "20.00",
        "envelopes": 10,
        "valid_until": "2026-03-09T09:00:00+08:00",
        "claimable": True,
        "regions": ["CN"],
        "merchant_categories": ["catering", "supermarket"],
        "min_payment": "30.00",
    },
    "grantEnvelopes": {"wallets": [2, 3]},
    "claimEnvelope": {"wallet": 7},
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
    "resetSandbox": {"template": "demo"},
    "createKey": {"role": "operator", "operator": "ICBC", "label": "my test suite"},
    "setProfile": {"name": "macau"},
    "registerCasino": {
        "ref": "LISBOA",
        "name": "Lisboa casino",
        "operator": "BOCMO",
        "treasury_wallet": 14,
        "float": "500000.00",
        "chip_currency": "HKD",
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
    "setChipsApproval": {"chips_approved": "50000000.00"},
    "registerPromoter": {
        "licence": "GP-0042",
        "name": "Golden Lotus VIP club",
        "wallet": 9,
        "commission_rate": "0.0125",
    },
    "attachPromoterPlayer": {"player": 2},
    "setPromoterWallet": {"wallet": 10},
    "setBeneficiaries": {"beneficiaries": {"macao_foundation": 5}},
    "setCreditLine": {"limit": "50000.00"},
    "drawCredit": {"player": 2, "amount": "20000.00"},
    "repayCredit": {
        "player": 2,
        "amount": "5000.00",
        "payment_code": "pc_from-POST-v1-wallets-2-payment-codes",
    },
    "handOverChips": {"from_player": 2, "to_player": 3, "amount": "1000.00"},
    "requestIdentityReveal": {
        "legal_basis": "aml_cft_suspicious_transaction",
        "case_reference": "CASE-2026-0042",
    },
    "rejectIdentityReveal": {"reason": "the case is closed"},
    # Offline purses of the demo's wallets 2 (purse 1) and 5 (purse 2, opened
    # the same way with device key VAQq1ebRLdkPmof2zrHNmyIAp9pTFtEZi9R+cERMSaU=):
    # Ed25519 keys of the 32-byte seeds sha256("demo purse 1") and sha256("demo
    # purse 2") (app.client.OfflineDevice.from_seed), signing the voucher and the
    # unload statement below (docs/offline.md#vouchers).
    "openPurse": {
        "wallet": 2,
        "device_key": "lHOEtAbqfiQuFNDk/mo1fKWmlfiiL3i+STguTlQQOs0=",
        "amount": "500.00",
    },
    "loadPurse": {"amount": "100.00"},
    "syncVouchers": {
        "vouchers": [
            {
                "payer": 1,
                "payee": 2,
                "amount": "25.00",
                "counter": 1,
                "time": "2026-03-02T02:30:00Z",
                "signature": "ubZTiqec3ZwRc+EuBYD6z/wanH0s1vNuiNc7IdaB/pmwkLaSFoiXcV05iw3LC3GUIRO+b9Ae0BNiLxN2NYpCAQ==",
            }
        ]
    },
    "unloadPurse": {
        "counter": 1,
        "signature": "RIY7tGHrbXad8aovze/rrkqlP+p8KxNqSa+Q9w6nwdUmBzh4zdehOv61OSB8QtLIzORElLsXvqRumK5nSwTKCw==",
    },
    "createWebhookEndpoint": {
        "url": "http://127.0.0.1:8000/webhooks",
        "event_types": ["transfer.posted", "alert.raised"],
        "description": "my receiver",
    },
}

# Path parameters, by name (the same name means the same thing in every path).
PATH_PARAMETERS: dict[str, Any] = {
    "code": "ICBC",
    "wallet_id": 2,
    "wallet_class": 2,
    "ref": "COTAI",
    "licence": "GP-0042",
    "purse_id": 1,
}

# Answers, by operationId and status: the demo's to the examples above.
_PAYMENT = {
    "id": 19,
    "kind": "payment",
    "status": "posted",
    "asset": "ECNY",
    "amount": "100.00",
    "from_wallet": 2,
    "to_wallet": 10,
    "from_operator": "ICBC",
    "to_operator": "BOCMO",
    "reference": "dinner",
    "posted_at": "2026-03-02T01:00:00+00:00",
    "hold_id": None,
    "refund_of": None,
    "entries": [
        {
            "seq": 25,
            "debit_account": "W:2:ECNY",
            "credit_account": "OP:ICBC:SETTLEMENT",
            "asset": "ECNY",
            "amount": "100.00",
            "hash": "9fcb072e706d044b0c31e75ff4f549fbabb78d78610a2f66b3b312088016edce",
        },
        {
            "seq": 26,
            "debit_account": "OP:BOCMO:SETTLEMENT",
            "credit_account": "W:10:ECNY",
            "asset": "ECNY",
            "amount": "100.00",
            "hash": "a12770c9e8c0276cf52000ab774ae1b190ebb533fadc715dd5889c4c051823ba",
        },
        {
            "seq": 27,
            "debit_account": "OP:ICBC:POSITION",
            "credit_account": "OP:BOCMO:POSITION",
            "asset": "ECNY",
            "amount": "100.00",
            "hash": "7b8bafc279279cf37cf970a2572db150092cdf2365d507ca4811cfcf8129a03e",
        },
    ],
}
RESPONSE_BODIES: dict[tuple[str, int], dict[str, Any]] = {
    ("createTransfer", 201): _PAYMENT,
    ("getTransfer", 200): _PAYMENT,
    ("getBalance", 200): {
        "wallet_id": 2,
        "asset": "ECNY",
        "balance": "79900.00",
        "available": "79900.00",
        "held": "0.00",
        "as_of": "2026-03-02T01:00:05+00:00",
    },
}

# The Problem every operation may answer: a refusal of createTransfer's example
# for an amount above the payer's balance.
PROBLEM = {
    "type": "urn:ecny:problem:insufficient_funds",
    "title": "Insufficient funds in the wallet",
    "status": 422,
    "code": "insufficient_funds",
    "detail": "W:2:ECNY has 79900.00 available, 900000.00 needed",
    "instance": "/v1/transfers",
    "request_id": "e9f9c1fb9d121b8b",
    "account": "W:2:ECNY",
    "available": "79900.00",
    "required": "900000.00",
}
