"""The event feed (docs/events.md): events written in the change's own
transaction (none for a refusal), their data as the API renders the object,
their order, pagination, and who sees what."""

from __future__ import annotations

import pytest
from macau_world import DAY, START, advance, cage, macau_world

from wallets.ledger.posting import CENTRAL_BANK_KINDS

# On SQLite only but for the concurrent reader, where PostgreSQL's concurrency
# is the point (every PostgreSQL test of the suite writes events besides).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
EVERYONES = {"clock.moved", "rules.profile_switched"}  # events every role sees


def feed(sb, key="admin", **params) -> list[dict]:
    """Every event the key sees, page by page (two at a time)."""
    events, after = [], None
    while True:
        query = {"limit": 2, **params, **({"after": after} if after else {})}
        page = sb.ok("GET", "/v1/events", key=key, query_string=query)
        events += page["items"]
        after = page["next_after"]
        if after is None:
            return events


@SQLITE_ONLY
def test_events_are_written_with_their_change_and_only_with_it(sandbox):
    sb = sandbox
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": START, "fixed": True}, status=200)
    sb.operator("BOCMO")
    payer, payee = sb.wallet("BOCMO", fund="100.00"), sb.wallet("BOCMO")
    before = feed(sb)
    assert [e["id"] for e in before] == list(range(1, len(before) + 1))  # gap-free, in order

    # A refusal rolls back: no event. A batch's refused item leaves none either.
    r = sb.post(
        "/v1/transfers",
        key="BOCMO",
        json={"from_wallet": payer, "to_wallet": payee, "amount": "101.00"},
    )
    assert r.get_json()["code"] == "insufficient_funds"
    batch = sb.ok(
        "POST",
        "/v1/transfers/batch",
        key="BOCMO",
        json={
            "transfers": [
                {"id": "ok", "from_wallet": payer, "to_wallet": payee, "amount": "1.00"},
                {"id": "no", "from_wallet": payer, "to_wallet": payee, "amount": "500.00"},
            ]
        },
        status=200,
    )
    (posted,) = [x for x in batch["results"] if x["status"] == "posted"]
    hold = sb.ok(
        "POST",
        "/v1/holds",
        key="BOCMO",
        json={"from_wallet": payer, "to_wallet": payee, "amount": "5.00", "timeout_seconds": 60},
    )
    advance(sb, 61)  # the hold expires: no request of anyone's, an event all the same
    etag = sb.get(f"/v1/wallets/{payee}", key="BOCMO").headers["ETag"]
    sb.ok(
        "PATCH",
        f"/v1/wallets/{payee}",
        key="BOCMO",
        json={"label": "savings"},
        headers={"If-Match": etag},
        status=200,
    )
    sb.ok("POST", f"/v1/wallets/{payee}/freeze", key="BOCMO", status=200)
    new = feed(sb)[len(before) :]
    assert [e["type"] for e in new] == [
        "transfer.posted",  # the batch's one posted item
        "transfer.posted",  # the hold's funds to escrow
        "hold.created",
        "clock.moved",  # the move, then what it brings
        "transfer.posted",  # back to the payer
        "hold.expired",
        "wallet.updated",
        "wallet.frozen",
    ]
    # Each event's data is the object as the API renders it then.
    transfer_id = posted["transfer_id"]
    assert new[0]["data"] == sb.ok("GET", f"/v1/transfers/{transfer_id}")
    expired = sb.ok("GET", f"/v1/holds/{hold['id']}")
    assert new[3]["data"] == sb.ok("GET", "/v1/sandbox/clock")
    assert new[5]["data"] == {k: v for k, v in expired.items() if k != "transfers"}
    assert new[6]["data"]["label"] == "savings" and new[6]["data"]["status"] == "active"
    assert new[7]["data"] == sb.ok("GET", f"/v1/wallets/{payee}")
    assert all(e["timestamp"] == new[-1]["timestamp"] for e in new[3:])  # the sandbox clock's
    assert [e["id"] for e in feed(sb, type="hold.created,hold.expired")] == [
        new[2]["id"],
        new[5]["id"],
    ]


@SQLITE_ONLY
def test_the_feed_refuses_what_it_does_not_take(sandbox):
    for query, status, code in [
        ("type=transfer.sent", 422, "validation_failed"),
        ("type=transfer.posted,", 422, "validation_failed"),
        ("after=-1", 422, "validation_failed"),
        ("limit=501", 422, "validation_failed"),
        ("since=1", 400, "unknown_parameter"),
    ]:
        r = sandbox.get(f"/v1/events?{query}")
        assert (r.status_code, r.get_json()["code"]) == (status, code), query
    assert sandbox.call("GET", "/v1/events", key=None).status_code == 401


@SQLITE_ONLY
def test_each_role_sees_the_events_of_its_scope(sandbox):
    sb = sandbox
    w = macau_world(sb)
    sb.keys["sup_other"] = sb.key("supervisor", casino_ref="LISBOA")
    player = sb.wallet("BOCMO", 1, fund="600000.00", region="MO")
    icbc = sb.wallet("ICBC", 1, fund="10.00")
    sb.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": icbc, "to_wallet": player, "amount": "1.00"},
    )
    big = cage(sb, "buy-ins", player, amount="500000.00")  # an LTR alert
    advance(sb, 21 * 3600)
    sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    everything = feed(sb, key="auditor")
    # The auditor, read-only over everything: what the admin sees, the API
    # keys' events too.
    admin = feed(sb, key="admin")
    assert "api_key.created" in {e["type"] for e in everything}
    assert everything == admin
    # Every role sees the clock's moves and the profile switched (as every role
    # reads the clock and the rules).
    moves = [e for e in everything if e["type"] in EVERYONES]
    assert sorted(e["type"] for e in moves) == ["clock.moved"] * 2 + ["rules.profile_switched"]
    for key in ("supervisor", "merchant", "sup_other", "BOCMO", "ICBC", "central_bank"):
        assert [e for e in feed(sb, key=key) if e["type"] in EVERYONES] == moves

    def types(key):
        return sorted({e["type"] for e in feed(sb, key=key)} - EVERYONES)

    # The casino's keys: its registration, its cage operations' transfers, its
    # alerts, its day.
    casino = [e for e in feed(sb, key="supervisor") if e["type"] not in EVERYONES]
    assert casino == [e for e in feed(sb, key="merchant") if e["type"] not in EVERYONES]
    assert {e["type"] for e in casino} == {
        "casino.registered",
        "payment_code.used",  # the buy-in's
        "transfer.posted",
        "alert.raised",
        "gaming_day.closed",
    }
    cage_ids = {t["id"] for t in big["transfers"]}
    assert len(cage_ids) == 2  # the e-CNY payment and the chips
    assert cage_ids <= {e["data"]["id"] for e in casino if e["type"] == "transfer.posted"}
    (raised,) = [e for e in casino if e["type"] == "alert.raised"]
    assert raised["data"]["id"] == big["alerts"][0]["id"] and raised["data"]["type"] == "ltr"
    assert feed(sb, key="sup_other") == moves
    # An operator: its wallets' and the transfers that touch it, either side.
    bocmo = feed(sb, key="BOCMO")
    icbc_events = feed(sb, key="ICBC")
    cross = [
        e for e in everything if e["type"] == "transfer.posted" and e["data"]["from_wallet"] == icbc
    ]
    assert cross and cross[0] in bocmo and cross[0] in icbc_events
    assert {e["data"]["id"] for e in bocmo if e["type"] == "wallet.opened"} == {
        w["treasury"],
        w["casino"]["merchant_wallet"],
        player,
    }
    assert all(e["data"]["operator"] == "ICBC" for e in icbc_events if e["type"] == "wallet.opened")
    assert "alert.raised" not in types("BOCMO") and "gaming_day.closed" not in types("BOCMO")
    # The central bank: transfers (and settlement, and alerts of no casino), operators,
    # no wallet events.
    # (and the scheduled checkpoints the clock's moves brought, if any)
    assert set(types("central_bank")) - {"audit.checkpoint_taken"} == {
        "operator.created",
        "transfer.posted",
    }
    assert sorted(
        e["data"]["code"] for e in feed(sb, key="central_bank", type="operator.created")
    ) == [
        "BOCMO",
        "ICBC",
    ]
    assert [e["data"]["code"] for e in feed(sb, key="BOCMO", type="operator.created")] == ["BOCMO"]
    # Of the transfers, tier 1's only (it reads no retail transfer: GET /v1/transfers
    # is 403 to it).
    tier1 = [
        e
        for e in everything
        if e["type"] == "transfer.posted" and e["data"]["kind"] in CENTRAL_BANK_KINDS
    ]
    assert {e["data"]["kind"] for e in tier1} == {"reserve_deposit", "issuance"}
    assert feed(sb, key="central_bank", type="transfer.posted") == tier1
    assert cross[0] not in feed(sb, key="central_bank")


@SQLITE_ONLY
def test_a_closed_settlement_window_is_the_central_banks_event(sandbox):
    sb = sandbox
    sb.ok(
        "PUT",
        "/v1/settlement/settings",
        key="central_bank",
        json={"model": "deferred_net"},
        status=200,
    )
    sb.operator("ICBC")
    sb.operator("BOC")
    a, b = sb.wallet("ICBC", fund="10.00"), sb.wallet("BOC")
    sb.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": a, "to_wallet": b, "amount": "3.00"},
    )
    closed = sb.ok("POST", "/v1/settlement/windows/current/close", key="central_bank", status=200)
    (event,) = feed(sb, key="central_bank", type="settlement.window_closed")
    assert event["data"] == sb.ok(
        "GET", f"/v1/settlement/windows/{closed['id']}", key="central_bank"
    )
    assert feed(sb, key="ICBC", type="settlement.window_closed") == []


def test_a_reader_following_the_feed_misses_nothing_written_concurrently(sandbox):
    """Event ids follow the commit order: a reader paging by `after` while
    four writers pay concurrently sees every event, none skipped (ids given at
    insert time, as a sequence gives them, would let a later commit land
    behind the reader's cursor on PostgreSQL)."""
    import threading

    sb = sandbox
    sb.operator("BOCMO")
    wallets = [sb.wallet("BOCMO", fund="100.00") for _ in range(4)]
    start = feed(sb)[-1]["id"]
    done = threading.Event()
    seen: list[int] = []

    def write(i: int) -> None:
        client = sb.app.test_client()
        for _ in range(10):
            r = client.post(
                "/v1/transfers",
                json={
                    "from_wallet": wallets[i],
                    "to_wallet": wallets[(i + 1) % 4],
                    "amount": "0.01",
                },
                headers={"Authorization": f"Bearer {sb.keys['BOCMO']}"},
            )
            assert r.status_code == 201, r.get_json()

    def read() -> None:
        client = sb.app.test_client()
        after = start
        while True:
            finished = done.is_set()
            r = client.get(
                f"/v1/events?after={after}&limit=500",
                headers={"Authorization": f"Bearer {sb.keys['auditor']}"},
            )
            items = r.get_json()["items"]
            seen.extend(e["id"] for e in items)
            after = items[-1]["id"] if items else after
            if finished and not items:
                return

    writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join(30)
    assert seen == list(range(start + 1, start + 41))
