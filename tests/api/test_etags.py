"""ETag / If-Match on every write that updates a resource (SPEC.md §10,
docs/api.md "ETags"), besides the wallets' (tests/api/test_lifecycle.py).

Each resource below: its GET (where there is one) and its PUT's answer carry
its ETag; a PUT with the current ETag succeeds and answers the new one; a stale
one is 412 etag_mismatch and changes nothing; ``*`` matches; a malformed
header is 400; without the header the PUT works as it always did; a replay of
an Idempotency-Key answers the first answer's ETag."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.macau_world import macau_world


@dataclass(frozen=True)
class Resource:
    """One resource a PUT replaces, as a test drives it through the API."""

    name: str
    put_path: str
    get_path: str | None  # None: no GET reads this one resource
    # Builds the world; gives the values the test sets (three different ones,
    # none the resource's state yet) and the resource's ETag to start from
    # (None: read it from the GET).
    setup: Callable[[Any], tuple[list[Any], str | None]]
    body: Callable[[Any], dict]  # the PUT's body that sets a value
    state: Callable[[Any], Any]  # the value as the API reads it back now
    shown: Callable[[Any], Any] = lambda value: value  # a value as ``state`` reads it


def _operator_limits(sb):
    sb.operator("ICBC")
    return ["100.00", "200.00", "300.00"], None


def _class_1_single_payment(sb):
    classes = sb.ok("GET", "/v1/operators/ICBC/limits")["classes"]
    return classes[0]["effective"]["single_payment"]


def _demo_operator(sb):
    sb.operator("ICBC")
    return ["1000.00", "2000.00", "3000.00"], None


def _nothing(values):
    def setup(sb):
        return values, None

    return setup


def _casino(sb):
    macau_world(sb, chips_approved="5000000.00")
    return ["1000000.00", "2000000.00", "3000000.00"], None


def _beneficiaries(sb):
    macau_world(sb)
    wallets = [
        sb.wallet("BOCMO", 1, kind="merchant", region="MO", label=f"foundation {n}")
        for n in range(3)
    ]
    return [{"macao_foundation": w} for w in wallets], None


def _promoter(sb):
    macau_world(sb)
    first, *others = [
        sb.wallet("BOCMO", 1, kind="merchant", region="MO", label=f"GP-7 account {n}")
        for n in range(4)
    ]
    r = sb.call(
        "POST",
        "/v1/casinos/COTAI/promoters",
        "supervisor",
        json={"licence": "GP-7", "name": "GP-7 Ltd", "wallet": first, "commission_rate": "0.01"},
    )
    assert r.status_code == 201, r.get_json()
    return others, r.headers["ETag"]


def _promoter_wallet(sb):
    (p,) = [
        p for p in sb.ok("GET", "/v1/casinos/COTAI/promoters")["items"] if p["licence"] == "GP-7"
    ]
    return p["wallet"]


def _credit_line(sb):
    macau_world(sb)
    vip = sb.wallet("BOCMO", 1, region="MO", label="vip")
    sb.vip = vip
    path = f"/v1/casinos/COTAI/credit-lines/{vip}"
    # `*` matches an existing resource only: no line yet, nothing is granted.
    r = sb.call("PUT", path, "merchant", json={"limit": "50.00"}, headers={"If-Match": "*"})
    assert r.status_code == 412 and r.get_json()["code"] == "etag_mismatch"
    assert sb.ok("GET", "/v1/casinos/COTAI/credit-lines")["items"] == []
    r = sb.call("PUT", path, "merchant", json={"limit": "500.00"})
    assert r.status_code == 200, r.get_json()
    return ["1000.00", "2000.00", "3000.00"], r.headers["ETag"]


def _profiles(sb):
    """The macau profile, and two documents of the sandbox's own."""
    document = sb.ok("GET", "/v1/rules")["document"]
    return ["macau", {**document, "name": "mine"}, {**document, "name": "mine-too"}], None


def _credit_limit(sb):
    (line,) = sb.ok("GET", "/v1/casinos/COTAI/credit-lines")["items"]
    return line["limit"]


RESOURCES = [
    Resource(
        "operator limits",
        "/v1/operators/ICBC/limits/1",
        "/v1/operators/ICBC/limits",
        _operator_limits,
        lambda v: {"single_payment": v},
        _class_1_single_payment,
    ),
    Resource(
        "rule profile",
        "/v1/sandbox/profile",
        "/v1/rules",
        _profiles,
        lambda v: {"name": v} if isinstance(v, str) else {"document": v},
        lambda sb: sb.ok("GET", "/v1/rules")["name"],
        lambda v: v if isinstance(v, str) else v["name"],
    ),
    Resource(
        "clock",
        "/v1/sandbox/clock",
        "/v1/sandbox/clock",
        _nothing(
            ["2026-03-03T02:00:00+00:00", "2026-03-04T02:00:00+00:00", "2026-03-05T02:00:00+00:00"]
        ),
        lambda v: {"now": v},
        lambda sb: sb.ok("GET", "/v1/sandbox/clock")["now"].replace("Z", "+00:00"),
    ),
    Resource(
        "settlement settings",
        "/v1/settlement/settings",
        "/v1/settlement/settings",
        _nothing(["70", "75", "90"]),
        lambda v: {"ndc_alert_percent": v},
        lambda sb: sb.ok("GET", "/v1/settlement/settings")["ndc_alert_percent"],
    ),
    Resource(
        "net debit cap",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        "/v1/operators/ICBC",
        _demo_operator,
        lambda v: {"net_debit_cap": v},
        lambda sb: sb.ok("GET", "/v1/operators/ICBC")["net_debit_cap"],
    ),
    Resource(
        "casino beneficiaries",
        "/v1/casinos/COTAI/beneficiaries",
        "/v1/casinos/COTAI",
        _beneficiaries,
        lambda v: {"beneficiaries": v},
        lambda sb: sb.ok("GET", "/v1/casinos/COTAI")["beneficiaries"],
    ),
    Resource(
        "chips approval",
        "/v1/casinos/COTAI/chips-approval",
        "/v1/casinos/COTAI",
        _casino,
        lambda v: {"chips_approved": v},
        lambda sb: sb.ok("GET", "/v1/casinos/COTAI")["chips_approved"],
    ),
    Resource(
        "promoter wallet",
        "/v1/casinos/COTAI/promoters/GP-7/wallet",
        None,
        _promoter,
        lambda v: {"wallet": v},
        _promoter_wallet,
    ),
    Resource(
        "credit line",
        "/v1/casinos/COTAI/credit-lines/{vip}",
        None,
        _credit_line,
        lambda v: {"limit": v},
        _credit_limit,
    ),
]


def _path(sb, resource: Resource) -> str:
    return resource.put_path.format(vip=getattr(sb, "vip", None))


def _put(sb, resource: Resource, value, if_match: str | None = None, idem: str | None = None):
    headers = {} if if_match is None else {"If-Match": if_match}
    return sb.call(
        "PUT", _path(sb, resource), "admin", json=resource.body(value), headers=headers, idem=idem
    )


def _read_etag(sb, resource: Resource) -> str | None:
    if resource.get_path is None:
        return None
    r = sb.get(resource.get_path)
    assert r.status_code == 200
    return r.headers["ETag"]


def _code(r) -> str:
    return r.get_json()["code"]


@pytest.mark.parametrize("resource", RESOURCES, ids=[r.name for r in RESOURCES])
def test_a_put_takes_if_match_and_answers_the_new_etag(sandbox, resource):
    sb = sandbox
    (a, b, c), start = resource.setup(sb)
    first = _read_etag(sb, resource)
    if start is None:
        start = first
    elif first is not None:
        assert first == start
    assert start and start.startswith('"') and start.endswith('"')
    assert _read_etag(sb, resource) in (None, start)  # reading changes nothing

    # The current ETag: the change is made, the answer has the new ETag (the GET's too).
    r = _put(sb, resource, a, if_match=start)
    assert r.status_code == 200, r.get_json()
    after_a = r.headers["ETag"]
    assert after_a != start
    assert resource.state(sb) == resource.shown(a)
    assert _read_etag(sb, resource) in (None, after_a)

    # A stale ETag: 412, with the current one; nothing changed.
    r = _put(sb, resource, b, if_match=start)
    assert r.status_code == 412 and _code(r) == "etag_mismatch"
    assert r.get_json()["etag"] == after_a
    assert resource.state(sb) == resource.shown(a)
    assert _read_etag(sb, resource) in (None, after_a)

    # A list matches when one of its tags does; a weak tag never does.
    r = _put(sb, resource, b, if_match=f"W/{after_a}")
    assert r.status_code == 412 and _code(r) == "etag_mismatch"
    assert resource.state(sb) == resource.shown(a)
    r = _put(sb, resource, b, if_match=f'"other", {after_a}')
    assert r.status_code == 200, r.get_json()
    after_b = r.headers["ETag"]
    assert after_b not in (start, after_a)
    assert resource.state(sb) == resource.shown(b)

    # `*`: whatever the current version.
    r = _put(sb, resource, c, if_match="*")
    assert r.status_code == 200, r.get_json()
    after_c = r.headers["ETag"]
    assert after_c not in (start, after_a, after_b)
    assert resource.state(sb) == resource.shown(c)

    # A malformed header: 400, nothing changed.
    for bad in ("", after_c[1:], f"{after_c} {after_c}", "*, " + after_c):
        r = _put(sb, resource, a, if_match=bad)
        assert r.status_code == 400 and _code(r) == "bad_request", bad
        assert r.get_json()["errors"]["If-Match"]
    assert resource.state(sb) == resource.shown(c)
    assert _read_etag(sb, resource) in (None, after_c)

    # Without If-Match, as before; the same state has the same ETag again.
    r = _put(sb, resource, a)
    assert r.status_code == 200, r.get_json()
    assert r.headers["ETag"] == after_a
    assert resource.state(sb) == resource.shown(a)
    # Setting what is set already: the ETag stays.
    r = _put(sb, resource, a, if_match=after_a)
    assert r.status_code == 200 and r.headers["ETag"] == after_a
    assert _read_etag(sb, resource) in (None, after_a)


@pytest.mark.parametrize("resource", RESOURCES, ids=[r.name for r in RESOURCES])
def test_a_replay_answers_the_first_answers_etag(sandbox, resource):
    sb = sandbox
    (a, b, _), start = resource.setup(sb)
    start = start or _read_etag(sb, resource)
    first = _put(sb, resource, a, if_match=start, idem=f"etag-{resource.name.replace(' ', '-')}")
    assert first.status_code == 200, first.get_json()
    # The resource changes again: a replay still answers the first answer, ETag and all.
    changed = _put(sb, resource, b)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    again = _put(sb, resource, a, if_match=start, idem=f"etag-{resource.name.replace(' ', '-')}")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.get_data() == first.get_data()
    assert resource.state(sb) == resource.shown(b)  # the replay changed nothing


def test_a_wallet_update_replayed_answers_its_etag(demo):
    """The wallet's PATCH, as every other write with an ETag."""
    w = demo.demo_wallets["a"]
    etag = demo.get(f"/v1/wallets/{w}", key="ICBC").headers["ETag"]

    def patch(label: str):
        return demo.call(
            "PATCH",
            f"/v1/wallets/{w}",
            "ICBC",
            json={"label": label},
            headers={"If-Match": etag},
            idem="patch-1",
        )

    first = patch("desk")
    assert first.status_code == 200 and first.headers["ETag"] == f'"w{w}v2"'
    again = patch("desk")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == f'"w{w}v2"'


def test_an_operators_etag_versions_what_is_set_of_it_not_its_figures(demo):
    """A payment moves the operator's figures, not its ETag: a PUT of its net
    debit cap with the ETag read before the payment still applies."""
    etag = demo.get("/v1/operators/ICBC").headers["ETag"]
    before = demo.ok("GET", "/v1/operators/ICBC")
    demo.ok(
        "POST", f"/v1/wallets/{demo.demo_wallets['a']}/fund", key="ICBC", json={"amount": "5.00"}
    )
    assert demo.ok("GET", "/v1/operators/ICBC")["vault"] != before["vault"]
    assert demo.get("/v1/operators/ICBC").headers["ETag"] == etag
    r = demo.call(
        "PUT",
        "/v1/settlement/operators/ICBC/net-debit-cap",
        json={"net_debit_cap": "9000.00"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200 and r.get_json()["net_debit_cap"] == "9000.00"
    # Its limits have an ETag of their own, which a change of the profile changes too.
    limits = demo.get("/v1/operators/ICBC/limits").headers["ETag"]
    demo.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    assert demo.get("/v1/operators/ICBC/limits").headers["ETag"] != limits
    r = demo.call(
        "PUT",
        "/v1/operators/ICBC/limits/1",
        json={"single_payment": "10.00"},
        headers={"If-Match": limits},
    )
    assert r.status_code == 412 and r.get_json()["code"] == "etag_mismatch"


def test_a_running_clocks_etag_stays_while_its_now_moves(sandbox):
    sb = sandbox
    r = sb.call(
        "PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T10:00:00+08:00", "fixed": False}
    )
    etag = r.headers["ETag"]
    first = sb.get("/v1/sandbox/clock")
    time.sleep(0.01)
    second = sb.get("/v1/sandbox/clock")
    assert first.get_json()["now"] != second.get_json()["now"]  # it runs
    assert first.headers["ETag"] == second.headers["ETag"] == etag
    advanced = sb.call("POST", "/v1/sandbox/clock/advance", json={"seconds": 60})
    assert advanced.status_code == 200 and advanced.headers["ETag"] != etag
    r = sb.call(
        "PUT",
        "/v1/sandbox/clock",
        json={"now": "2026-03-01T10:00:00+08:00"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 412 and r.get_json()["etag"] == advanced.headers["ETag"]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("resource", RESOURCES, ids=[r.name for r in RESOURCES])
def test_two_puts_with_one_if_match_at_once_one_wins(sandbox, resource):
    """Two PUTs of different values with the same If-Match at once: the check
    is made in each write's transaction after it locked the row it changes,
    so exactly one applies and the other is 412 with the winner's ETag."""
    sb = sandbox
    (a, b, c), start = resource.setup(sb)
    current = start or _read_etag(sb, resource)
    state = None  # none of a, b and c yet
    for _ in range(3):  # three tries: a race may not collide every time
        # Two values that both change the state: setting the one it has keeps its ETag.
        values = [v for v in (a, b, c) if v != state][:2]
        answers = _race_puts(sb, resource, values, current)
        statuses = [r.status_code for r in answers]
        assert sorted(statuses) == [200, 412], [r.get_json() for r in answers]
        won, lost = statuses.index(200), statuses.index(412)
        assert answers[lost].get_json()["code"] == "etag_mismatch"
        assert answers[lost].get_json()["etag"] == answers[won].headers["ETag"]
        assert resource.state(sb) == resource.shown(values[won])
        current, state = answers[won].headers["ETag"], values[won]
        assert _read_etag(sb, resource) in (None, current)


def _race_puts(sb, resource: Resource, values: list, if_match: str | None) -> list:
    """PUTs of ``values`` at once, each with ``if_match``: their answers."""
    barrier = threading.Barrier(len(values))
    answers: list[Any] = [None] * len(values)

    def put(i: int) -> None:
        barrier.wait()
        answers[i] = _put(sb, resource, values[i], if_match=if_match)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(values))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers
