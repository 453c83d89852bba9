"""The cage's own bookkeeping (wallets/casino/cage.py), through the API: which
wallets and reference each transfer of an operation carries, what the lists
of operations and of players' days hold and how they page, and how each
refusal names its wallet, its field and the wallet's role (issue 24)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from macau_world import DAY, advance, cage, macau_world, payment_code

from wallets.casino import cage as cage_module
from wallets.casino import registry
from wallets.core.errors import DomainError
from wallets.core.principal import Principal

ADMIN = Principal(role="admin")
NEXT_DAY = "2026-03-03"


def _player(sb, fund: str = "1000.00") -> int:
    return sb.wallet("BOCMO", 1, fund=fund, region="MO")


def test_each_transfer_of_an_operation_names_its_wallets_and_reference(sandbox):
    sb = sandbox
    world = macau_world(sb)
    casino = world["casino"]["merchant_wallet"]
    p = _player(sb)
    buy = cage(sb, "buy-ins", p, amount="500.00")
    assert [
        (t["kind"], t["from_wallet"], t["to_wallet"], t["reference"]) for t in buy["transfers"]
    ] == [
        ("payment", p, casino, "buy-in at COTAI"),
        ("chip_issue", None, p, "buy-in at COTAI"),
    ]
    own = cage(sb, "buy-ins", p, amount="100.00", reference="table 3")
    assert [t["reference"] for t in own["transfers"]] == ["table 3", "table 3"]
    won = cage(sb, "plays", p, wager="50.00", payout="120.00")
    assert [
        (t["kind"], t["from_wallet"], t["to_wallet"], t["reference"]) for t in won["transfers"]
    ] == [
        ("wager", p, None, "play at COTAI"),
        ("payout", None, p, "play at COTAI"),
    ]
    lost = cage(sb, "plays", p, wager="20.00", payout="0.00", reference="round 9")
    assert [(t["kind"], t["reference"]) for t in lost["transfers"]] == [("wager", "round 9")]
    out = cage(sb, "cash-outs", p, amount="650.00")
    assert [(t["kind"], t["from_wallet"], t["to_wallet"]) for t in out["transfers"]] == [
        ("chip_return", p, None),
        ("payment", casino, p),
    ]
    # As recorded: each operation's transfers in posting order, the payout's too.
    listed = sb.ok("GET", f"/v1/casinos/COTAI/transactions?wallet={p}", key="supervisor")["items"]
    assert [o["transfer_ids"] for o in listed] == [
        [t["id"] for t in op["transfers"]] for op in (buy, own, won, lost, out)
    ]
    assert [(o["kind"], o["amount"], o["payout"]) for o in listed] == [
        ("buy_in", "500.00", "0.00"),
        ("buy_in", "100.00", "0.00"),
        ("play", "50.00", "120.00"),
        ("play", "20.00", "0.00"),
        ("cash_out", "650.00", "0.00"),
    ]
    assert sb.balance(p) == "1050.00"  # 600.00 bought, 70.00 won
    # The casino sees its chains' e-CNY payments as its own events (docs/events.md).
    seen = sb.ok(
        "GET", "/v1/events", key="merchant", query_string={"type": "transfer.posted", "limit": 100}
    )["items"]
    ids = {e["data"]["id"] for e in seen}
    assert {buy["transfers"][0]["id"], out["transfers"][1]["id"]} <= ids


def test_the_operations_list_filters_by_player_and_day_and_pages_by_id(sandbox):
    sb = sandbox
    macau_world(sb)
    p, q = _player(sb), _player(sb)
    first = [
        cage(sb, "buy-ins", p, amount="100.00"),
        cage(sb, "buy-ins", q, amount="100.00"),
        cage(sb, "plays", p, wager="10.00"),
    ]
    advance(sb, 24 * 3600)
    second = [cage(sb, "plays", q, wager="10.00"), cage(sb, "plays", p, wager="5.00")]
    ids = [o["id"] for o in first + second]

    def listed(query: str) -> list[int]:
        got = sb.ok("GET", f"/v1/casinos/COTAI/transactions?{query}", key="supervisor")
        return [o["id"] for o in got["items"]]

    assert listed("") == ids
    assert listed(f"wallet={q}") == [ids[1], ids[3]]
    assert listed(f"gaming_day={DAY}") == ids[:3]
    assert listed(f"gaming_day={NEXT_DAY}") == ids[3:]
    assert listed(f"gaming_day={NEXT_DAY}&wallet={p}") == [ids[4]]
    assert listed(f"after={ids[1]}") == ids[2:]
    page = sb.ok("GET", "/v1/casinos/COTAI/transactions?limit=2", key="supervisor")
    assert [o["id"] for o in page["items"]] == ids[:2]


def test_the_players_list_is_by_day_then_wallet_and_pages_across_days(sandbox):
    sb = sandbox
    macau_world(sb)
    p, q = _player(sb), _player(sb)
    assert p < q
    cage(sb, "buy-ins", q, amount="100.00")  # q's day row first
    cage(sb, "buy-ins", p, amount="200.00")
    advance(sb, 24 * 3600)
    cage(sb, "plays", p, wager="10.00", payout="30.00")
    expected = [(DAY, p), (DAY, q), (NEXT_DAY, p)]

    def rows(query: str) -> tuple[list[tuple[str, int]], str | None]:
        got = sb.ok("GET", f"/v1/casinos/COTAI/players?{query}", key="supervisor")
        return [(r["gaming_day"], r["player"]) for r in got["items"]], got["next_after"]

    assert rows("")[0] == expected
    # One at a time: the same day's next wallet, then the next day's first.
    seen, after = [], None
    for _ in range(len(expected) + 1):  # a cursor that repeats its row fails, never hangs
        got, after = rows("limit=1" + (f"&after={after}" if after else ""))
        seen += got
        if after is None:
            break
    assert seen == expected
    assert rows(f"wallet={q}")[0] == [(DAY, q)]
    got = sb.ok("GET", f"/v1/casinos/COTAI/players?gaming_day={NEXT_DAY}", key="supervisor")
    (day,) = got["items"]
    assert (day["player"], day["turnover"], day["payouts"], day["net_result"]) == (
        p,
        "10.00",
        "30.00",
        "20.00",
    )


def test_a_cursor_is_a_day_and_a_wallet(sandbox):
    sb = sandbox
    macau_world(sb)
    for after in ("2026-03-02", "x:1", "2026-03-02:x", "2026-03-02:1:2"):
        with pytest.raises(DomainError) as refused:
            sb.db.read(
                lambda tx, a=after: cage_module.list_player_days(
                    tx, registry.get(tx, "COTAI", ADMIN), after=a, limit=10
                )
            )
        assert (refused.value.code, refused.value.detail) == (
            "validation_failed",
            "after: not a cursor of this list",
        ), after
        assert refused.value.extra == {"errors": {"after": ["not a valid cursor"]}}


def test_only_a_merchant_or_an_admin_runs_a_cage(sandbox):
    sb = sandbox
    macau_world(sb)
    p = _player(sb)
    cage(sb, "buy-ins", p, amount="10.00")
    before = sb.journal_count()
    for role in ("supervisor", "auditor", "central_bank"):
        actor = Principal(role=role, casino_ref="COTAI")
        with pytest.raises(DomainError) as refused:
            sb.db.write(
                lambda tx, a=actor: cage_module.play(
                    tx, "COTAI", a, wallet_id=p, wager=100, payout=0, reference=None
                )
            )
        assert (refused.value.code, refused.value.detail) == (
            "forbidden",
            f"{'an' if role == 'auditor' else 'a'} {role} does not run a cage",
        )
    assert sb.journal_count() == before


def test_refusals_name_the_wallet_and_the_field(sandbox):
    sb = sandbox
    world = macau_world(sb)
    casino = world["casino"]["merchant_wallet"]
    p, q = _player(sb), _player(sb)
    cage(sb, "buy-ins", p, amount="100.00")
    before = sb.journal_count()
    missing = q + 1000
    r = cage(sb, "plays", missing, 404, wager="1.00")
    assert (r["code"], r["detail"], r["field"]) == (
        "wallet_not_found",
        f"no wallet {missing}",
        "player",
    )
    r = cage(sb, "plays", casino, 422, wager="1.00")
    assert (r["code"], r["wallet_id"], r["field"]) == ("not_a_player", casino, "player")
    assert r["detail"] == (
        f"wallet {casino} is a merchant's, a casino's or a treasury's wallet: it does not play"
    )

    def hand(giver, to, status):
        body = {"from_player": giver, "to_player": to, "amount": "1.00"}
        got = sb.call("POST", "/v1/casinos/COTAI/chip-handovers", "merchant", json=body)
        assert got.status_code == status, got.get_json()
        return got.get_json()

    r = hand(missing, q, 404)
    assert (r["code"], r["field"], r["detail"]) == (
        "wallet_not_found",
        "from_player",
        f"no wallet {missing}",
    )
    assert (hand(p, missing, 404)["field"], hand(p, casino, 422)["field"]) == (
        "to_player",
        "to_player",
    )
    assert (hand(casino, q, 422)["field"], hand(casino, q, 422)["wallet_id"]) == (
        "from_player",
        casino,
    )
    r = hand(p, p, 422)
    assert (r["code"], r["detail"], r["errors"]) == (
        "validation_failed",
        "to_player: must be another wallet than from_player",
        {"to_player": ["must be another wallet than from_player"]},
    )
    assert sb.journal_count() == before


def test_a_wallet_not_active_is_named_with_its_part_in_the_operation(sandbox):
    sb = sandbox
    world = macau_world(sb)
    casino = world["casino"]["merchant_wallet"]
    p, q, r_ = _player(sb), _player(sb), _player(sb)
    for w in (p, q, r_):
        cage(sb, "buy-ins", w, amount="100.00")
    code = payment_code(sb, p)  # consent given before the freeze
    before = sb.journal_count()

    def freeze(w, key="BOCMO"):
        sb.ok("POST", f"/v1/wallets/{w}/freeze", key=key, status=200)

    def unfreeze(w, key="BOCMO"):
        sb.ok("POST", f"/v1/wallets/{w}/unfreeze", key=key, status=200)

    def refused(got, wallet, role):
        assert (got["code"], got["wallet_id"], got["detail"]) == (
            "wallet_frozen",
            wallet,
            f"the {role} wallet {wallet} is frozen",
        )

    freeze(p)
    refused(cage(sb, "buy-ins", p, 422, amount="1.00", payment_code=code), p, "paying")
    refused(cage(sb, "plays", p, 422, wager="1.00"), p, "playing")
    refused(cage(sb, "cash-outs", p, 422, amount="1.00"), p, "receiving")
    refused(cage(sb, "cash-outs", p, 422, amount="1.00", pay_to=q), p, "playing")
    body = {"from_player": p, "to_player": q, "amount": "1.00"}
    got = sb.call("POST", "/v1/casinos/COTAI/chip-handovers", "merchant", json=body)
    refused(got.get_json(), p, "playing")
    body = {"from_player": q, "to_player": p, "amount": "1.00"}
    got = sb.call("POST", "/v1/casinos/COTAI/chip-handovers", "merchant", json=body)
    refused(got.get_json(), p, "playing")
    # Paid to a frozen wallet: the payee is refused, whoever cashes out.
    refused(cage(sb, "cash-outs", q, 422, amount="1.00", pay_to=p), p, "receiving")
    unfreeze(p)
    # The casino's own wallet, frozen: it receives a buy-in, it pays a cash-out.
    freeze(casino)
    refused(cage(sb, "buy-ins", p, 422, amount="1.00", payment_code=code), casino, "receiving")
    refused(cage(sb, "cash-outs", p, 422, amount="1.00"), casino, "paying")
    refused(cage(sb, "cash-outs", p, 422, amount="1.00", pay_to=q), casino, "paying")
    unfreeze(casino)
    assert sb.journal_count() == before
    assert [sb.balance(w) for w in (p, q, r_)] == ["900.00"] * 3


def test_a_players_chip_account_is_found_and_never_opened_by_a_read(sandbox):
    sb = sandbox
    macau_world(sb)
    p, q = _player(sb), _player(sb)
    cage(sb, "buy-ins", p, amount="10.00")
    with sb.db.engine.connect() as conn:
        chips = conn.execute(
            sa.text("SELECT id FROM accounts WHERE code = :code"), {"code": f"W:{p}:CHIP:COTAI"}
        ).scalar_one()
        accounts = conn.exec_driver_sql("SELECT COUNT(*) FROM accounts").scalar_one()

    def found(wallet_id):
        return sb.db.read(
            lambda tx: cage_module.chip_account_of(tx, registry.get(tx, "COTAI", ADMIN), wallet_id)
        )

    assert (found(p), found(q)) == (chips, None)
    with sb.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM accounts").scalar_one() == accounts
