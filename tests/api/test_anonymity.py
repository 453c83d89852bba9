"""Managed anonymity through the API (docs/anonymity.md): identities shown to
their operator only, identity reveals (four eyes, a time limit on the sandbox
clock, read once by the requester), their audit trail, and the aggregates the
central bank sees instead of holders."""

from __future__ import annotations

import copy
import json
import threading
import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from macau_world import advance, cage, macau_world

from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.verify import verify_export

PHONE = "+85366123456"
NAME = "Chen Jing"
HOLDER = "HOLDER-SECRET-7"
COURT = {"legal_basis": "court_order", "case_reference": "CASE-1"}


def world(sb) -> dict:
    """COTAI and its supervisor; a class 4 player (phone only) and a class 2
    holder with a name, both BOCMO's, both playing at COTAI."""
    w = macau_world(sb)
    anon = sb.wallet("BOCMO", 4, fund="1000.00", region="MO", phone=PHONE)
    named = sb.wallet("BOCMO", 2, fund="1000.00", region="MO", holder_id=HOLDER, holder_name=NAME)
    for player in (anon, named):
        cage(sb, "buy-ins", player, amount="100.00")
    sb.keys["cb"], sb.keys["sup"] = sb.keys["central_bank"], sb.keys["supervisor"]
    return {**w, "anon": anon, "named": named}


def refused(sb, method, path, key, code, status, json=None):
    r = sb.call(method, path, key, json=json)
    assert (r.status_code, r.get_json()["code"]) == (status, code), r.get_json()
    return r.get_json()


def test_a_reveal_needs_a_second_key_of_another_role_and_is_read_once(sandbox):
    sb = sandbox
    w = world(sb)
    path = f"/v1/wallets/{w['anon']}/identity-reveals"
    bad = refused(
        sb,
        "POST",
        path,
        "cb",
        "legal_basis_not_accepted",
        422,
        json={"legal_basis": "curiosity", "case_reference": "X"},
    )
    assert "court_order" in bad["accepted"] and "legal_basis" in bad["errors"]
    reveal = sb.ok("POST", path, key="cb", json=COURT)
    assert reveal["status"] == "requested" and reveal["identity"] is None
    assert reveal["requested_by_role"] == "central_bank" and reveal["operator"] == "BOCMO"
    rid = reveal["id"]
    # Not readable before the approval, not approvable by the requester's role.
    refused(
        sb,
        "POST",
        f"/v1/identity-reveals/{rid}/read",
        "cb",
        "invalid_identity_reveal_transition",
        409,
    )
    refused(sb, "POST", f"/v1/identity-reveals/{rid}/approve", "cb", "four_eyes_required", 422)
    cb2 = sb.key("central_bank")
    refused(sb, "POST", f"/v1/identity-reveals/{rid}/approve", cb2, "four_eyes_required", 422)
    for role in ("admin", "auditor", "BOCMO", "merchant"):
        refused(sb, "POST", f"/v1/identity-reveals/{rid}/approve", role, "forbidden", 403)
    approved = sb.ok("POST", f"/v1/identity-reveals/{rid}/approve", key="sup", status=200)
    assert approved["status"] == "approved" and approved["decided_by_role"] == "supervisor"
    assert approved["identity"] is None
    # Only the requesting key reads it: not the approver, not another central bank key.
    refused(sb, "POST", f"/v1/identity-reveals/{rid}/read", "sup", "not_the_requester", 422)
    refused(sb, "POST", f"/v1/identity-reveals/{rid}/read", cb2, "not_the_requester", 422)
    first = sb.call("POST", f"/v1/identity-reveals/{rid}/read", "cb", idem="read-1")
    assert first.status_code == 200, first.get_json()
    got = first.get_json()
    assert got["status"] == "read" and got["read_at"] is not None
    assert got["identity"] == {
        "wallet_class": 4,
        "holder_id": got["identity"]["holder_id"],
        "holder_name": None,
        "phone": PHONE,
        "birth_date": None,
        "region": "MO",
    }
    # Once: a second read is refused; a replay of the first answers without it.
    refused(
        sb,
        "POST",
        f"/v1/identity-reveals/{rid}/read",
        "cb",
        "invalid_identity_reveal_transition",
        409,
    )
    replay = sb.call("POST", f"/v1/identity-reveals/{rid}/read", "cb", idem="read-1")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == {**got, "identity": None}
    # The auditor sees the reveal (never the identity) and each step in the audit log.
    listed = sb.ok("GET", "/v1/identity-reveals", key="auditor")["items"]
    assert [(r["id"], r["status"], r["identity"]) for r in listed] == [(rid, "read", None)]
    assert sb.ok("GET", f"/v1/identity-reveals/{rid}", key="auditor")["status"] == "read"
    log = sb.ok("GET", "/v1/audit/events?path_prefix=/v1/identity-reveals", key="auditor")
    steps = [(e["path"], e["role"], e["outcome"]) for e in log["items"]]
    assert (f"/v1/identity-reveals/{rid}/approve", "supervisor", "succeeded") in steps
    assert (f"/v1/identity-reveals/{rid}/read", "central_bank", "succeeded") in steps
    assert (f"/v1/identity-reveals/{rid}/read", "supervisor", "refused") in steps
    requested = sb.ok("GET", f"/v1/audit/events?path_prefix={path}", key="auditor")["items"]
    assert [e["outcome"] for e in requested] == ["refused", "succeeded"]

    # Each step an event of the central bank's (and the admin's, the auditor's):
    # never the operator's nor a supervisor's, never with the identity.
    def reveal_events(key):
        items = sb.ok("GET", "/v1/events?limit=500", key=key)["items"]
        return [e for e in items if e["type"].startswith("identity_reveal.")]

    seen = reveal_events("cb")
    assert [e["type"] for e in seen] == [
        "identity_reveal.requested",
        "identity_reveal.approved",
        "identity_reveal.read",
    ]
    assert [e["data"]["status"] for e in seen] == ["requested", "approved", "read"]
    assert seen[-1]["data"] == {**got, "identity": None}
    assert reveal_events("admin") == reveal_events("auditor") == seen
    assert reveal_events("BOCMO") == reveal_events("sup") == reveal_events("merchant") == []
    assert all(PHONE not in str(e) for e in seen)


def test_a_named_holder_is_revealed_to_a_supervisor_the_central_bank_approved(sandbox):
    sb = sandbox
    w = world(sb)
    rid = sb.ok(
        "POST",
        f"/v1/wallets/{w['named']}/identity-reveals",
        key="sup",
        json={"legal_basis": "aml_cft_suspicious_transaction", "case_reference": "STR-9"},
    )["id"]
    refused(sb, "POST", f"/v1/identity-reveals/{rid}/approve", "sup", "four_eyes_required", 422)
    sb.ok("POST", f"/v1/identity-reveals/{rid}/approve", key="cb", status=200)
    got = sb.ok("POST", f"/v1/identity-reveals/{rid}/read", key="sup", status=200)["identity"]
    assert (got["holder_id"], got["holder_name"], got["birth_date"], got["phone"]) == (
        HOLDER,
        NAME,
        "1990-01-01",
        None,
    )


def test_a_reveal_expires_unapproved_on_the_sandbox_clock(sandbox):
    sb = sandbox
    w = world(sb)
    hours = sb.ok("GET", "/v1/rules")["document"]["anonymity"]["approval_hours"]
    path = f"/v1/wallets/{w['anon']}/identity-reveals"
    late, on_time = (sb.ok("POST", path, key="cb", json=COURT)["id"] for _ in range(2))
    advance(sb, hours * 3600 - 1)
    sb.ok("POST", f"/v1/identity-reveals/{on_time}/approve", key="sup", status=200)
    advance(sb, 1)  # exactly expires_at: expired
    assert sb.ok("GET", f"/v1/identity-reveals/{late}", key="cb")["status"] == "expired"
    refused(
        sb, "POST", f"/v1/identity-reveals/{late}/approve", "sup", "identity_reveal_expired", 409
    )
    refused(sb, "POST", f"/v1/identity-reveals/{late}/read", "cb", "identity_reveal_expired", 409)
    # An approved reveal does not expire: its requester reads it later.
    later = sb.ok("POST", f"/v1/identity-reveals/{on_time}/read", key="cb", status=200)
    assert later["identity"]["phone"] == PHONE


def test_a_rejected_reveal_is_never_read(sandbox):
    sb = sandbox
    w = world(sb)
    rid = sb.ok("POST", f"/v1/wallets/{w['anon']}/identity-reveals", key="cb", json=COURT)["id"]
    refused(
        sb, "POST", f"/v1/identity-reveals/{rid}/reject", "cb", "four_eyes_required", 422, json={}
    )
    rejected = sb.ok(
        "POST",
        f"/v1/identity-reveals/{rid}/reject",
        key="sup",
        json={"reason": "no case"},
        status=200,
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "no case")
    refused(
        sb,
        "POST",
        f"/v1/identity-reveals/{rid}/approve",
        "sup",
        "invalid_identity_reveal_transition",
        409,
    )
    refused(
        sb,
        "POST",
        f"/v1/identity-reveals/{rid}/read",
        "cb",
        "invalid_identity_reveal_transition",
        409,
    )


def test_supervisors_reach_the_players_of_their_casinos_only(sandbox):
    sb = sandbox
    w = world(sb)
    outsider = sb.wallet("BOCMO", 4, region="MO", phone="+85366000001")  # never played
    other = sb.key("supervisor", casino_ref="LISBOA")
    refused(
        sb,
        "POST",
        f"/v1/wallets/{outsider}/identity-reveals",
        "sup",
        "wallet_not_found",
        404,
        json=COURT,
    )
    refused(
        sb,
        "POST",
        f"/v1/wallets/{w['anon']}/identity-reveals",
        other,
        "wallet_not_found",
        404,
        json=COURT,
    )
    rid = sb.ok("POST", f"/v1/wallets/{outsider}/identity-reveals", key="cb", json=COURT)["id"]
    refused(sb, "GET", f"/v1/identity-reveals/{rid}", "sup", "identity_reveal_not_found", 404)
    refused(
        sb, "POST", f"/v1/identity-reveals/{rid}/approve", "sup", "identity_reveal_not_found", 404
    )
    assert sb.ok("GET", "/v1/identity-reveals", key="sup")["items"] == []
    assert [r["id"] for r in sb.ok("GET", "/v1/identity-reveals", key="cb")["items"]] == [rid]


def test_a_profile_without_anonymity_accepts_no_basis(sandbox):
    sb = sandbox
    w = world(sb)
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = "macau-no-reveals"
    del doc["anonymity"]
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    got = refused(
        sb,
        "POST",
        f"/v1/wallets/{w['anon']}/identity-reveals",
        "cb",
        "legal_basis_not_accepted",
        422,
        json=COURT,
    )
    assert got["accepted"] == []


def test_the_holder_is_its_operators_to_see_and_the_phone_nobodys(sandbox):
    sb = sandbox
    w = world(sb)
    sb.ok("POST", f"/v1/wallets/{w['anon']}/identity-reveals", key="cb", json=COURT)
    own = sb.ok("GET", f"/v1/wallets/{w['named']}", key="BOCMO")
    assert (own["holder_id"], own["holder_name"], own["birth_date"]) == (HOLDER, NAME, "1990-01-01")
    # Class 4 is pseudonymous: its operator sees the holder id only.
    anon = sb.ok("GET", f"/v1/wallets/{w['anon']}", key="BOCMO")
    assert anon["holder_id"] and anon["holder_name"] is None and anon["has_phone"]
    for key in ("admin", "auditor"):
        seen = sb.ok("GET", f"/v1/wallets/{w['named']}", key=key)
        assert (seen["holder_id"], seen["holder_name"], seen["birth_date"]) == (None, None, None)
    # Every read of every role: no phone number, no name, no class 2 holder id.
    job = sb.ok(
        "POST", "/v1/audit/exports", key="auditor", json={"formats": ["csv", "jsonl"]}, status=202
    )
    reads = [
        ("/v1/wallets", ("admin", "auditor")),
        (f"/v1/wallets/{w['anon']}", ("admin", "auditor", "BOCMO")),
        (f"/v1/wallets/{w['anon']}/statement", ("admin", "auditor", "BOCMO")),
        ("/v1/events?limit=500", ("admin", "auditor", "BOCMO", "cb", "sup", "merchant")),
        ("/v1/audit/events?limit=500", ("admin", "auditor")),
        ("/v1/alerts", ("admin", "auditor", "cb", "sup", "merchant")),
        ("/v1/casinos/COTAI/players", ("admin", "auditor", "sup", "merchant")),
        ("/v1/casinos/COTAI/transactions", ("admin", "auditor", "sup", "merchant")),
        ("/v1/identity-reveals", ("admin", "auditor", "cb", "sup")),
        ("/v1/wallet-aggregates", ("admin", "auditor", "cb", "BOCMO")),
    ]
    for path, keys in reads:
        for key in keys:
            r = sb.get(path, key=key)
            assert r.status_code == 200, (path, key)
            text = r.get_data(as_text=True)
            assert PHONE not in text and NAME not in text, (path, key)
            if key != "BOCMO":
                assert HOLDER not in text, (path, key)
    done = _finished(sb, job["id"])
    assert done["status"] == "succeeded", done
    assert "identity_reveals.jsonl" in {f["name"] for f in done["files"]}
    for f in done["files"]:
        body = sb.get(f"/v1/audit/exports/{done['id']}/files/{f['name']}", key="auditor")
        text = body.get_data(as_text=True)
        assert PHONE not in text and NAME not in text and HOLDER not in text, f["name"]


def _finished(sb, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = sb.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor")
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"export {job_id} did not finish")


def test_the_central_bank_sees_aggregates_never_holders(sandbox):
    sb = sandbox
    w = world(sb)
    sb.wallet("ICBC", 3, fund="20.00", region="CN")
    got = sb.ok("GET", "/v1/wallet-aggregates", key="cb")["items"]
    assert all(
        set(a) == {"operator", "wallet_class", "wallets", "balance", "available", "held"}
        for a in got
    )
    by = {(a["operator"], a["wallet_class"]): a for a in got}
    assert by[("ICBC", 3)]["wallets"] == 1 and by[("ICBC", 3)]["balance"] == "20.00"
    assert by[("BOCMO", 4)]["wallets"] == 1 and by[("BOCMO", 2)]["wallets"] == 1
    # The sums reconcile with the operators' own figures (wallets and their holds).
    for code in ("BOCMO", "ICBC"):
        figures = sb.ok("GET", f"/v1/operators/{code}", key="cb")
        mine = [a for a in got if a["operator"] == code]
        assert sum(a["wallets"] for a in mine) == figures["wallet_count"]
        total = sum(_fen(a["balance"]) for a in mine)
        assert total == _fen(figures["wallets_total"]) + _fen(figures["holds"])
    own = sb.ok("GET", "/v1/wallet-aggregates", key="ICBC")["items"]
    assert {a["operator"] for a in own} == {"ICBC"}
    refused(sb, "GET", "/v1/wallet-aggregates", "sup", "forbidden", 403)
    del w


def _fen(amount: str) -> int:
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int(cents or 0)


# ---- reveals are never readable without approval, whatever the sequence -----

# Two keys of each role that may ask and decide, another casino's supervisor
# (outside the scope: 404), and the roles that never may (403).
ACTORS = ("cb", "cb2", "sup", "sup2", "sup_other", "auditor", "admin", "BOCMO", "merchant")
ROLE = {"cb": "central_bank", "cb2": "central_bank", "sup": "supervisor", "sup2": "supervisor"}
NEVER = ("auditor", "admin", "BOCMO", "merchant")
# Who acts on a reveal, relative to it: its requester, the other key of the
# requester's role, a key of the other role (either), another casino's
# supervisor, or a role that never may. The first and the third most often,
# so that whole stories happen.
RELATIVE = ("requester",) * 3 + ("other_role",) * 3 + ("same_role", "other_role_2", "sup_other")
OTHER = {"cb": "sup", "sup": "cb"}
SECOND = {"cb": "cb2", "sup": "sup2"}


def who(relative: str, by: str) -> str:
    """The key a relative actor names for a reveal requested by ``by``."""
    return {
        "requester": by,
        "same_role": SECOND[by],
        "other_role": OTHER[by],
        "other_role_2": SECOND[OTHER[by]],
    }.get(relative, relative)


REQUEST = st.tuples(st.just("request"), st.sampled_from(("cb", "sup", "sup_other", "admin")))
ACT = st.tuples(
    st.sampled_from(("approve", "approve", "reject", "read", "read")),
    st.integers(0, 2),
    st.sampled_from(RELATIVE + NEVER),
)
ADVANCE = st.tuples(st.just("advance"), st.sampled_from((1, 6, 47, 48, 49)))
# A request or two first, then anything, acts on reveals most often.
steps = st.tuples(
    st.lists(REQUEST, min_size=1, max_size=2),
    st.lists(st.one_of(ACT, ACT, ACT, REQUEST, ADVANCE), min_size=3, max_size=16),
).map(lambda parts: parts[0] + parts[1])


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_reveals_follow_the_model_whatever_the_sequence(sandbox, steps):
    """Random requests, approvals, rejections, reads by keys of every role and
    clock moves: every answer is the model's, and an identity is in an answer
    only when the requesting key reads a reveal another role approved in time,
    the first time."""
    sb = sandbox
    if "cb2" not in sb.keys:
        sb.anon = world(sb)["anon"]
        sb.keys["cb2"] = sb.key("central_bank")
        sb.keys["sup2"] = sb.key("supervisor", casino_ref="COTAI")
        sb.keys["sup_other"] = sb.key("supervisor", casino_ref="LISBOA")
        doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
        doc["name"] = "macau-48h"
        doc["anonymity"]["approval_hours"] = 48
        sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    wallet = sb.anon
    elapsed = 0  # hours since the example began
    model: list[dict] = []
    for step in steps:
        if step[0] == "advance":
            advance(sb, step[1] * 3600)
            elapsed += step[1]
            continue
        if step[0] == "request":
            r = sb.call("POST", f"/v1/wallets/{wallet}/identity-reveals", step[1], json=COURT)
            if step[1] == "admin":
                assert (r.status_code, r.get_json()["code"]) == (403, "forbidden")
            elif step[1] == "sup_other":  # the wallet does not play at LISBOA
                assert (r.status_code, r.get_json()["code"]) == (404, "wallet_not_found")
            else:
                assert r.status_code == 201, r.get_json()
                got = r.get_json()
                model.append({"id": got["id"], "by": step[1], "at": elapsed, "status": "requested"})
            continue
        action, index, relative = step
        if not model:
            continue
        m = model[index % len(model)]
        actor = who(relative, m["by"])
        r = sb.call(
            "POST",
            f"/v1/identity-reveals/{m['id']}/{action}",
            actor,
            json={} if action == "reject" else None,
        )
        body = r.get_json()
        expired = m["status"] == "requested" and elapsed >= m["at"] + 48
        if actor in NEVER:
            expected = (403, "forbidden")
        elif actor == "sup_other":
            expected = (404, "identity_reveal_not_found")
        elif action == "read":
            if actor != m["by"]:
                expected = (422, "not_the_requester")
            elif m["status"] == "approved":
                expected = (200, None)
            elif expired:
                expected = (409, "identity_reveal_expired")
            else:
                expected = (409, "invalid_identity_reveal_transition")
        elif ROLE[actor] == ROLE[m["by"]]:
            expected = (422, "four_eyes_required")
        elif expired:
            expected = (409, "identity_reveal_expired")
        elif m["status"] != "requested":
            expected = (409, "invalid_identity_reveal_transition")
        else:
            expected = (200, None)
        assert (r.status_code, body.get("code")) == expected, (step, m, body)
        event(f"{action}: {expected[1] or 'ok'}")
        if r.status_code == 200:
            m["status"] = {"approve": "approved", "reject": "rejected", "read": "read"}[action]
            assert (body["identity"] is not None) == (action == "read")
            if action == "read":
                assert body["identity"]["phone"] == PHONE
        else:
            assert "identity" not in body and PHONE not in r.get_data(as_text=True)
    for m in model:
        got = sb.ok("GET", f"/v1/identity-reveals/{m['id']}", key="auditor")
        expired = m["status"] == "requested" and elapsed >= m["at"] + 48
        assert got["status"] == ("expired" if expired else m["status"]), (m, got)
        assert got["identity"] is None


# ---- exports: a file of their own, in the manifest and verified -------------


def test_reveals_are_exported_in_a_file_of_their_own_and_verified(sandbox, tmp_path):
    sb = sandbox
    w = world(sb)
    path = f"/v1/wallets/{w['anon']}/identity-reveals"
    read_one, rejected, waiting = (sb.ok("POST", path, key="cb", json=COURT)["id"] for _ in "abc")
    sb.ok("POST", f"/v1/identity-reveals/{read_one}/approve", key="sup", status=200)
    sb.ok("POST", f"/v1/identity-reveals/{read_one}/read", key="cb", status=200)
    sb.ok("POST", f"/v1/identity-reveals/{rejected}/reject", key="sup", json={}, status=200)
    key = dg.load_or_create_key(tmp_path / "cb.pem")
    out = tmp_path / "export"
    result = ex.export(sb.db, out, ex.parse_filters(), key)
    listed = {f["name"]: f for f in result.manifest["files"]}
    assert listed["identity_reveals.jsonl"]["rows"] == 3
    lines = (out / "identity_reveals.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r["id"], r["status"]) for r in rows] == [
        (read_one, "read"),
        (rejected, "rejected"),
        (waiting, "requested"),
    ]
    assert all(
        "identity" not in r and PHONE not in line for r, line in zip(rows, lines, strict=True)
    )
    report = verify_export(out, key.public_key())
    assert report.verified, report.problems
    assert "3 identity reveals" in {c.detail for c in report.checks}
    # Another operator's export holds none of BOCMO's reveals.
    other = ex.export(sb.db, tmp_path / "icbc", ex.parse_filters(operator="ICBC"), key)
    assert {f["name"]: f["rows"] for f in other.manifest["files"]}["identity_reveals.jsonl"] == 0

    # Tampered: a rejected reveal made "read" is found, by its hash and by its story.
    rows[1]["status"] = "read"
    rows[1]["read_at"] = rows[1]["decided_at"]
    rows[1]["decided_by_role"] = "central_bank"
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    (out / "identity_reveals.jsonl").write_text(text, encoding="utf-8")
    report = verify_export(out, key.public_key())
    assert not report.ok
    problems = [(p.file, p.message) for p in report.problems]
    assert (
        "identity_reveals.jsonl",
        "SHA-256 differs from the manifest: the file was changed",
    ) in problems
    assert any("not four eyes" in m for f, m in problems if f == "identity_reveals.jsonl")
    # Removed: listed but missing.
    (out / "identity_reveals.jsonl").unlink()
    report = verify_export(out, key.public_key())
    assert ("identity_reveals.jsonl", "listed in the manifest but missing") in [
        (p.file, p.message) for p in report.problems
    ]


def test_the_profile_says_which_classes_are_pseudonymous(sandbox):
    sb = sandbox
    w = world(sb)
    own = sb.ok("GET", f"/v1/wallets/{w['named']}", key="BOCMO")
    assert own["holder_name"] == NAME
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = "macau-pseudonymous-2"
    doc["anonymity"]["pseudonymous_classes"] = [2, 4]
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    # Class 2 is pseudonymous now: its operator sees the holder id alone.
    now = sb.ok("GET", f"/v1/wallets/{w['named']}", key="BOCMO")
    assert (now["holder_id"], now["holder_name"], now["birth_date"]) == (HOLDER, None, None)
    # The operator still keeps the name: an approved reveal reads it.
    rid = sb.ok("POST", f"/v1/wallets/{w['named']}/identity-reveals", key="cb", json=COURT)["id"]
    sb.ok("POST", f"/v1/identity-reveals/{rid}/approve", key="sup", status=200)
    got = sb.ok("POST", f"/v1/identity-reveals/{rid}/read", key="cb", status=200)
    assert got["identity"]["holder_name"] == NAME


def test_a_holder_name_is_changed_by_its_operator_and_refused_for_class_4(sandbox):
    sb = sandbox
    w = world(sb)
    path = f"/v1/wallets/{w['named']}"
    etag = sb.get(path, key="BOCMO").headers["ETag"]
    r = sb.call(
        "PATCH", path, "BOCMO", json={"holder_name": "Leong Mei"}, headers={"If-Match": etag}
    )
    assert r.status_code == 200 and r.get_json()["holder_name"] == "Leong Mei"
    assert sb.ok("GET", path, key="admin")["holder_name"] is None
    anon = f"/v1/wallets/{w['anon']}"
    etag = sb.get(anon, key="BOCMO").headers["ETag"]
    r = sb.call("PATCH", anon, "BOCMO", json={"holder_name": "X"}, headers={"If-Match": etag})
    assert (r.status_code, r.get_json()["code"]) == (422, "validation_failed")
    assert "holder_name" in r.get_json()["errors"]
    # Opening a class 4 wallet with a name is refused too; nothing is written.
    before = len(sb.ok("GET", "/v1/wallets?limit=500", key="BOCMO")["items"])
    r = sb.call(
        "POST",
        "/v1/wallets",
        "BOCMO",
        json={"wallet_class": 4, "region": "MO", "phone": PHONE, "holder_name": "X"},
    )
    assert (r.status_code, r.get_json()["code"]) == (422, "validation_failed")
    assert len(sb.ok("GET", "/v1/wallets?limit=500", key="BOCMO")["items"]) == before


# ---- racing decisions and reads ------------------------------------------------


def test_racing_approvals_and_reads_succeed_once(sandbox):
    """Two supervisors approve the same request at once, then the requesting
    key reads it from several threads at once: one approval and one read
    succeed, every other call is refused as decided or read already."""
    sb = sandbox
    w = world(sb)
    sups = [sb.key("supervisor", casino_ref="COTAI") for _ in range(4)]
    rid = sb.ok("POST", f"/v1/wallets/{w['anon']}/identity-reveals", key="cb", json=COURT)["id"]

    def race(path: str, keys: list[str]) -> list[tuple[int, dict]]:
        answers: list[tuple[int, dict]] = []
        lock = threading.Lock()
        gate = threading.Barrier(len(keys))

        def call(key: str) -> None:
            client = sb.app.test_client()
            gate.wait()
            r = client.post(path, headers={"Authorization": f"Bearer {sb.keys.get(key, key)}"})
            with lock:
                answers.append((r.status_code, r.get_json()))

        threads = [threading.Thread(target=call, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    decided = race(f"/v1/identity-reveals/{rid}/approve", sups)
    assert sorted(status for status, _ in decided) == [200, 409, 409, 409], decided
    assert {a["code"] for s, a in decided if s == 409} == {"invalid_identity_reveal_transition"}
    read = race(f"/v1/identity-reveals/{rid}/read", ["cb"] * 4)
    assert sorted(status for status, _ in read) == [200, 409, 409, 409], read
    assert [a["identity"]["phone"] for s, a in read if s == 200] == [PHONE]
    assert all("identity" not in a for s, a in read if s == 409)
