"""The casino rules' edges (wallets/casino/rules.py), through the cage: which
operations count towards structuring, the LTR threshold at its exact figure,
the mainland holder's year, and the evidence each alert carries (issue 24)."""

from __future__ import annotations

from macau_world import DAY, advance, cage, macau_world, payment_code

from wallets.casino import cage as cage_module
from wallets.casino import registry
from wallets.core.errors import DomainError
from wallets.core.principal import Principal

ADMIN_PRINCIPAL = Principal(role="admin")

THRESHOLD = "454545.46"  # MOP 500,000.00 at 1.10 MOP per CNY, rounded up


def lisboa(sb, world) -> None:
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "LISBOA",
            "name": "Lisboa",
            "operator": "BOCMO",
            "treasury_wallet": world["treasury"],
            "float": "0.00",
        },
    )
    sb.keys["lisboa"] = sb.key("merchant", casino_ref="LISBOA")


def buy_in_at_lisboa(sb, player, amount) -> dict:
    return sb.ok(
        "POST",
        "/v1/casinos/LISBOA/buy-ins",
        key="lisboa",
        json={"player": player, "amount": amount, "payment_code": payment_code(sb, player)},
    )


def full(sb, op: dict) -> list[dict]:
    """The alerts a cage operation raised, as GET /v1/alerts/{id} shows them."""
    return [sb.ok("GET", f"/v1/alerts/{a['id']}", key="supervisor") for a in op["alerts"]]


def alerts_of(sb, type_: str) -> list[dict]:
    return sb.ok("GET", f"/v1/alerts?type={type_}", key="admin")["items"]


def test_structuring_sums_one_casinos_operations_only(sandbox):
    sb = sandbox
    world = macau_world(sb)
    lisboa(sb, world)
    smurf = sb.wallet("BOCMO", 1, fund="900000.00", region="MO", holder_id="h-smurf")
    other = sb.wallet("BOCMO", 1, fund="900000.00", region="MO", holder_id="h-smurf")
    first = cage(sb, "buy-ins", smurf, amount="300000.00")
    advance(sb, 600)
    assert buy_in_at_lisboa(sb, other, "300000.00")["alerts"] == []  # another casino
    advance(sb, 600)
    assert cage(sb, "buy-ins", smurf, amount="100000.00")["alerts"] == []  # 400,000.00
    advance(sb, 600)
    third = cage(sb, "buy-ins", other, amount="54545.46")  # 454,545.46: the threshold
    [alert] = full(sb, third)
    assert (alert["type"], alert["casino"], alert["wallet"]) == ("structuring", "COTAI", other)
    ev = alert["evidence"]
    # The holder by its pseudonym (its first wallet), never by its id: docs/anonymity.md.
    assert {k: ev[k] for k in ("holder_ref", "kind", "window_hours", "threshold", "total")} == {
        "holder_ref": f"holder-w{smurf}",
        "kind": "buy_in",
        "window_hours": 24,
        "threshold": THRESHOLD,
        "total": THRESHOLD,
    }
    rows = ev["transactions"]
    assert [(r["wallet_id"], r["amount"]) for r in rows] == [
        (smurf, "300000.00"),
        (smurf, "100000.00"),
        (other, "54545.46"),
    ]
    assert rows[0]["casino_transaction"] == first["id"]
    assert rows[0]["transfer_id"] == first["transfers"][0]["id"]
    assert rows[2]["casino_transaction"] == third["id"]
    assert rows[0]["at"].startswith(f"{DAY}T02:00:00")  # 10:00 in Macau
    assert alert["summary"] == (
        f"structuring: 3 buy-ins of holder-w{smurf} at COTAI within 24 h total {THRESHOLD}, "
        f"each below {THRESHOLD}"
    )
    # It is raised once: later buy-ins in the window do not raise it again.
    advance(sb, 600)
    assert cage(sb, "buy-ins", smurf, amount="100.00")["alerts"] == []
    assert len(alerts_of(sb, "structuring")) == 1
    # Stored with the key that keeps a second detection of the same operation from raising it.
    with sb.db.engine.connect() as conn:
        keys = conn.exec_driver_sql("SELECT dedupe_key FROM alerts WHERE type = 'structuring'")
        assert keys.scalars().all() == [f"structuring:{third['id']}"]


def test_an_operation_at_the_threshold_is_an_ltr_and_never_part_of_structuring(sandbox):
    sb = sandbox
    macau_world(sb)
    roller = sb.wallet("BOCMO", 1, fund="1000000.00", region="MO", holder_id="h-roller")
    big = cage(sb, "buy-ins", roller, amount=THRESHOLD)
    [ltr] = full(sb, big)
    assert (ltr["type"], ltr["wallet"], ltr["due_at"]) == ("ltr", roller, None)
    assert ltr["evidence"] == {
        "casino_transaction": big["id"],
        "kind": "buy_in",
        "at": ltr["evidence"]["at"],
        "amount": THRESHOLD,
        "transfer_ids": [t["id"] for t in big["transfers"]],
        "amount_mop": "500000.01",
        "threshold_mop": "500000.00",
        "threshold": THRESHOLD,
        "wallet_class": 1,
        "holder_ref": f"holder-w{roller}",
    }
    assert ltr["evidence"]["at"].startswith(f"{DAY}T02:00:00")
    assert ltr["summary"] == (
        f"large transaction: buy-in of {THRESHOLD} (MOP 500000.01) by wallet {roller} at COTAI"
    )
    advance(sb, 600)
    # One cent below the threshold: no LTR, and with the LTR above no structuring either.
    assert cage(sb, "buy-ins", roller, amount="454545.45")["alerts"] == []
    advance(sb, 600)
    assert cage(sb, "buy-ins", roller, amount="0.01")["alerts"][0]["type"] == "structuring"
    assert [a["wallet"] for a in alerts_of(sb, "ltr")] == [roller]


def test_plays_are_never_structuring(sandbox):
    sb = sandbox
    macau_world(sb)
    player = sb.wallet("BOCMO", 1, fund="900000.00", region="MO", holder_id="h-player")
    cage(sb, "buy-ins", player, amount="400000.00")
    advance(sb, 600)
    assert cage(sb, "plays", player, wager="300000.00", payout="300000.00")["alerts"] == []
    advance(sb, 600)
    assert cage(sb, "plays", player, wager="300000.00", payout="0.00")["alerts"] == []
    assert alerts_of(sb, "structuring") == []
    # A play's payout at the threshold is an LTR, with the play's figures.
    advance(sb, 600)
    op = cage(sb, "plays", player, wager="100000.00", payout=THRESHOLD)
    [ltr] = full(sb, op)
    assert ltr["type"] == "ltr" and ltr["wallet"] == player
    ev = ltr["evidence"]
    assert (ev["kind"], ev["amount"], ev["payout"], ev["amount_mop"]) == (
        "play",
        "100000.00",
        THRESHOLD,
        "500000.01",
    )


def test_the_mainland_year_starts_on_the_first_of_january(sandbox):
    sb = sandbox
    macau_world(sb)
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2027-01-01T10:00:00+08:00"})
    player = sb.wallet("ICBC", 1, fund="900000.00", region="CN", holder_id="h-mainland")
    first = cage(sb, "buy-ins", player, amount="200000.00")
    [presence] = full(sb, first)
    assert (presence["type"], presence["wallet"]) == ("mainland_wallet", player)
    assert presence["evidence"]["region"] == "CN"
    assert presence["evidence"]["gaming_day"] == "2027-01-01"
    assert presence["evidence"]["amount"] == "200000.00"
    assert presence["summary"] == (
        f"mainland wallet {player} (CN) bought in at COTAI on gaming day 2027-01-01"
    )
    advance(sb, 86400)
    # 360,000.00 exactly is the cap, not past it.
    op = cage(sb, "buy-ins", player, amount="160000.00")
    assert [a["type"] for a in op["alerts"]] == ["mainland_wallet"]
    advance(sb, 600)
    op = cage(sb, "buy-ins", player, amount="0.01")
    assert [a["type"] for a in op["alerts"]] == ["mainland_yearly_cap"]  # the day's presence: once
    [passed] = full(sb, op)
    assert passed["wallet"] == player
    ev = passed["evidence"]
    assert {k: ev[k] for k in ("holder_ref", "year", "buy_ins_this_year", "cap", "cap_usd")} == {
        "holder_ref": f"holder-w{player}",
        "year": 2027,
        "buy_ins_this_year": "360000.01",
        "cap": "360000.00",
        "cap_usd": "50000.00",
    }
    assert ev["casino_transaction"] == op["id"]
    assert passed["summary"] == (
        f"mainland holder-w{player} passed the yearly cap of 360000.00 (USD 50000.00) "
        "with 360000.01 of buy-ins and credit repayments in 2027"
    )
    advance(sb, 600)
    assert cage(sb, "buy-ins", player, amount="1000.00")["alerts"] == []  # once a year
    with sb.db.engine.connect() as conn:
        keys = conn.exec_driver_sql(
            "SELECT dedupe_key FROM alerts WHERE type = 'mainland_yearly_cap'"
        )
        assert keys.scalars().all() == ["mainland_yearly_cap:h-mainland:2027"]


def test_the_mainland_year_ends_on_the_last_of_december(sandbox):
    sb = sandbox
    macau_world(sb)
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-12-31T10:00:00+08:00"})
    player = sb.wallet("ICBC", 1, fund="900000.00", region="CN", holder_id="h-mainland")
    cage(sb, "buy-ins", player, amount="300000.00")
    advance(sb, 26 * 3600)  # 2027: a new year's total, outside the structuring window
    op = cage(sb, "buy-ins", player, amount="300000.00")
    assert [a["type"] for a in op["alerts"]] == ["mainland_wallet"]


# ---- blocking rules: who may buy in, play and cash out ---------------------------


def test_the_minimum_age_is_reached_on_the_birthday(sandbox):
    sb = sandbox
    macau_world(sb)  # 2026-03-02 in Macau
    of_age = sb.wallet("BOCMO", 2, fund="100.00", region="MO", birth_date="2005-03-02")
    young = sb.wallet("BOCMO", 2, fund="100.00", region="MO", birth_date="2005-03-03")
    assert cage(sb, "buy-ins", of_age, amount="10.00")["player"] == of_age
    r = cage(sb, "buy-ins", young, 422, amount="10.00")
    assert (r["code"], r["wallet_id"], r["minimum_age"]) == ("under_minimum_age", young, 21)
    assert r["detail"] == f"the holder of wallet {young} is 20; the minimum age is 21"
    assert sb.balance(young) == "100.00"


def test_an_excluded_player_may_return_chips_but_not_buy_or_play(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-ex")
    cage(sb, "buy-ins", p, amount="500.00")
    ex = sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "h-ex", "kind": "family", "ends_on": "2027-03-01"},
    )
    for what, amounts in (("buy-ins", {"amount": "1.00"}), ("plays", {"wager": "1.00"})):
        r = cage(sb, what, p, 422, **amounts)
        assert (r["code"], r["wallet_id"], r["exclusion_id"]) == ("excluded_person", p, ex["id"])
    assert cage(sb, "cash-outs", p, amount="500.00")["kind"] == "cash_out"
    assert sb.balance(p) == "1000.00"


def test_a_refusing_profile_bars_mainland_wallets_from_paying_only(sandbox):
    sb = sandbox
    macau_world(sb)
    cn = sb.wallet("ICBC", 1, fund="1000.00", region="CN", holder_id="h-cn")
    cage(sb, "buy-ins", cn, amount="500.00")
    doc = sb.ok("GET", "/v1/rules")["document"]
    mainland = {**doc["casino"]["mainland"], "action": "refuse"}
    strict = {**doc, "name": "macau-strict", "casino": {**doc["casino"], "mainland": mainland}}
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": strict})
    r = cage(sb, "buy-ins", cn, 422, amount="1.00")
    assert (r["code"], r["wallet_id"]) == ("mainland_wallet_refused", cn)
    assert r["detail"] == (
        f"wallet {cn} is registered in CN: the profile refuses mainland wallets paying casinos"
    )
    assert cage(sb, "plays", cn, wager="100.00", payout="0.00")["kind"] == "play"
    assert cage(sb, "cash-outs", cn, amount="400.00")["kind"] == "cash_out"
    assert sb.balance(cn) == "900.00"
    mo = sb.wallet("BOCMO", 1, fund="10.00", region="MO")
    assert cage(sb, "buy-ins", mo, amount="10.00")["alerts"] == []
    # Chips handed to the mainland holder: it pays nothing, it is not refused.
    body = {"from_player": mo, "to_player": cn, "amount": "5.00"}
    moved = sb.ok("POST", "/v1/casinos/COTAI/chip-handovers", key="merchant", json=body)
    assert [
        (t["kind"], t["from_wallet"], t["to_wallet"], t["reference"]) for t in moved["transfers"]
    ] == [("chip_handover", mo, cn, "chips handed over at COTAI")]
    assert cage(sb, "cash-outs", cn, amount="5.00")["kind"] == "cash_out"
    assert sb.balance(cn) == "905.00"


# ---- minimal play at its two edges ------------------------------------------------


def test_minimal_play_at_the_cash_out_ratio_and_below_the_bet_ratio(sandbox):
    sb = sandbox
    world = macau_world(sb)
    lisboa(sb, world)
    p = sb.wallet("BOCMO", 1, fund="100010.00", region="MO")
    buy_in_at_lisboa(sb, p, "10.00")  # another casino's: in none of COTAI's figures
    other = sb.wallet("BOCMO", 1, fund="10.00", region="MO")
    cage(sb, "buy-ins", other, amount="10.00")  # another player's: not in this one's
    buy = cage(sb, "buy-ins", p, amount="100000.00")
    play = cage(sb, "plays", p, wager="9999.99", payout="0.00")
    assert cage(sb, "cash-outs", p, amount="89999.99")["alerts"] == []  # below 90%
    out = cage(sb, "cash-outs", p, amount="0.01")  # 90,000.00 in all: 90% exactly
    [alert] = full(sb, out)
    assert (alert["type"], alert["wallet"], alert["casino"]) == ("minimal_play", p, "COTAI")
    ev = alert["evidence"]
    assert {k: v for k, v in ev.items() if k != "transactions"} == {
        "gaming_day": DAY,
        "holder_ref": f"holder-w{p}",  # the holder's day, by its pseudonym
        "buy_ins": "100000.00",
        "cash_outs": "90000.00",
        "wagered": "9999.99",
        "cash_out_ratio": "0.90",
        "bet_ratio": "0.10",
    }
    assert [(t["casino_transaction"], t["kind"], t["amount"]) for t in ev["transactions"]] == [
        (buy["id"], "buy_in", "100000.00"),
        (play["id"], "play", "9999.99"),
        (ev["transactions"][2]["casino_transaction"], "cash_out", "89999.99"),
        (out["id"], "cash_out", "0.01"),
    ]
    assert ev["transactions"][0]["transfer_ids"] == [t["id"] for t in buy["transfers"]]
    assert alert["summary"] == (
        f"minimal play: holder-w{p} (wallet {p}) cashed out 90000.00 of 100000.00 bought in "
        f"at COTAI on gaming day {DAY}, wagering 9999.99"
    )
    # Once per holder and gaming day: the last chip cashed out raises none.
    assert cage(sb, "cash-outs", p, amount="0.01")["alerts"] == []


def test_no_minimal_play_once_the_bets_reach_the_bet_ratio(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="100000.00", region="MO")
    cage(sb, "buy-ins", p, amount="100000.00")
    cage(sb, "plays", p, wager="10000.00", payout="10000.00")  # 10% exactly
    assert cage(sb, "cash-outs", p, amount="100000.00")["alerts"] == []
    assert alerts_of(sb, "minimal_play") == []


def test_an_anonymous_wallet_is_refused_at_the_threshold_before_the_posting(sandbox):
    sb = sandbox
    macau_world(sb)
    anon = sb.wallet("BOCMO", 4, fund="5000.00", region="MO", phone="+85366000002")
    r = cage(sb, "buy-ins", anon, 422, amount=THRESHOLD)
    assert (r["code"], r["wallet_id"], r["threshold"]) == (
        "identified_wallet_required",
        anon,
        THRESHOLD,
    )
    assert r["detail"] == (
        f"a casino transaction of {THRESHOLD} (at or above the reporting threshold of "
        f"{THRESHOLD}) needs a wallet of class 1 or 2; wallet {anon} is class 4"
    )
    # One cent below, the rule lets it through to the posting, which finds the funds short.
    assert cage(sb, "buy-ins", anon, 422, amount="454545.45")["code"] == "insufficient_funds"
    assert sb.balance(anon) == "5000.00"


def test_the_players_list_pages_by_its_cursor(sandbox):
    """The cage's own paging (the HTTP layer's ``after`` of /players is another matter)."""
    sb = sandbox
    macau_world(sb)
    players = [sb.wallet("BOCMO", 1, fund="10.00", region="MO") for _ in range(3)]
    for p in players:
        cage(sb, "buy-ins", p, amount="10.00")

    def pages(tx):
        casino = registry.get(tx, "COTAI", ADMIN_PRINCIPAL)
        first = cage_module.list_player_days(tx, casino, limit=2)
        after = cage_module.player_day_cursor(first[-1])
        rest = cage_module.list_player_days(tx, casino, after=after, limit=2)
        return after, [r.wallet_id for r in first], [r.wallet_id for r in rest]

    after, first, rest = sb.db.read(pages)
    try:
        sb.db.read(
            lambda tx: cage_module.list_player_days(
                tx, registry.get(tx, "COTAI", ADMIN_PRINCIPAL), after="1", limit=2
            )
        )
    except DomainError as refused:
        assert refused.code == "validation_failed"
        assert refused.extra["errors"] == {"after": ["not a valid cursor"]}
    else:
        raise AssertionError("a bad cursor was taken")
    assert after == f"{DAY}:{players[1]}"
    assert (first, rest) == (players[:2], players[2:])


def test_a_cash_out_carries_its_reference_on_the_chips_and_the_e_cny_paid(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-ref")
    cage(sb, "buy-ins", p, amount="500.00")
    out = cage(sb, "cash-outs", p, amount="200.00", reference="table 7")
    chips, paid = out["transfers"]
    assert (chips["kind"], paid["kind"], paid["to_wallet"]) == ("chip_return", "payment", p)
    assert chips["reference"] == paid["reference"] == "table 7"
    # As stored: the payment read back from the journal.
    stored = sb.ok("GET", f"/v1/transfers/{paid['id']}", key="admin")
    assert (stored["reference"], stored["amount"]) == ("table 7", "200.00")
    # Without one, both name the cage.
    plain = cage(sb, "cash-outs", p, amount="300.00")
    assert [t["reference"] for t in plain["transfers"]] == ["cash-out at COTAI"] * 2
    assert sb.balance(p) == "1000.00"
