"""The checks of journal.csv and journal.jsonl, and the fast paths that read
well-formed rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache

from ...ledger.journal import GENESIS_HASH, HASH_TIME_FORMAT, entry_hash_text
from ...ledger.money import format_amount
from ..export import (
    JOURNAL_FIELDS,
    csv_text_value,
)
from .checks import _Checks
from .report import INT_FIELDS, OPTIONAL_FIELDS, TRANSFER_FIELDS, Check, _Journal, _Row


class _JournalChecks(_Checks):
    """journal.csv and journal.jsonl: every row's hash, the chain, the
    transfers' rows, the two files' agreement, the control totals."""

    def _journal_file(self) -> str | None:
        for name in ("journal.csv", "journal.jsonl"):
            if name in self.listed and (self.dir / name).is_file():
                return name
        return None

    def _rows(self, name: str, check: Check | None) -> Iterator[_Row]:
        """Journal rows with typed values and the line each starts on."""
        path = self.dir / name
        with open(path, newline="", encoding="utf-8") as f:
            if name.endswith(".csv"):
                reader = csv.reader(f)
                header = next(reader, None)
                if tuple(header or ()) != JOURNAL_FIELDS:
                    self.fail(check, name, 1, f"header is not {','.join(JOURNAL_FIELDS)}")
                    return
                line = reader.line_num + 1
                for raw in reader:
                    if not raw:
                        continue  # a blank line, as csv.DictReader skips it
                    values = _fast_csv(raw) if len(raw) == len(JOURNAL_FIELDS) else None
                    if values is None:
                        values = self._typed(_as_dict(raw), name, line, check, from_csv=True)
                    yield _Row(line, values)
                    line = reader.line_num + 1
            else:
                for n, text in enumerate(f, start=1):
                    try:
                        raw = json.loads(text)
                        if not isinstance(raw, dict):
                            raise ValueError("not an object")
                    except ValueError as exc:
                        self.fail(check, name, n, f"not a JSON object: {exc}")
                        yield _Row(n, {})
                        continue
                    values = _fast_json(raw)
                    if values is None:
                        values = self._typed(raw, name, n, check, from_csv=False)
                    yield _Row(n, values)

    def _typed(
        self, raw: dict, name: str, line: int, check: Check | None, *, from_csv: bool
    ) -> dict:
        out: dict = {}
        try:
            for key in JOURNAL_FIELDS:
                value = raw[key]
                if from_csv and key == "reference" and isinstance(value, str):
                    value = csv_text_value(value)
                if value == "" or value is None:
                    if key not in OPTIONAL_FIELDS:
                        raise ValueError(f"{key} is empty")
                    out[key] = None
                elif key in INT_FIELDS:
                    if from_csv:
                        if not value.lstrip("-").isdigit():
                            raise ValueError(f"{key} is not an integer: {value!r}")
                        value = int(value)
                    elif not isinstance(value, int) or isinstance(value, bool):
                        raise ValueError(f"{key} is not an integer: {value!r}")
                    out[key] = value
                else:
                    out[key] = str(value)
        except (KeyError, ValueError) as exc:
            self.fail(check, name, line, f"malformed row: {exc}")
            return {}
        return out

    def _journal(self) -> _Journal | None:
        c = self.check("journal chain")
        name = self._journal_file()
        if name is None:
            self.fail(
                c, "manifest.json", None, "lists no journal file (journal.csv or journal.jsonl)"
            )
            return None
        m = self.manifest
        complete = bool(m["complete"])
        digest = m["digest"]
        head_seq, head_hash = digest.get("sequence"), digest.get("head_hash")
        j = _Journal()
        prev: _Row | None = None
        wanted = {d.get("sequence") for d in self.earlier}  # seqs the kept digests name
        for row in self._rows(name, c):
            v = row.values
            if not v:
                prev = None
                continue
            j.rows += 1
            out_of_order = self._row(c, name, row, prev, complete, head_seq)
            if v["seq"] in wanted:
                self.earlier_found[v["seq"]] = (v["hash"], row.line)
            if j.first_seq is None:
                j.first_seq, j.first_prev_hash = v["seq"], v["prev_hash"]
            j.last_seq, j.last_hash = v["seq"], v["hash"]
            totals = j.totals.setdefault(v["asset"], [0, 0])
            totals[0] += 1
            totals[1] += v["amount_fen"]
            debit = j.accounts.setdefault(v["debit_account"], [0, 0, 0])
            debit[0] += v["amount_fen"]
            debit[2] += 1
            credit = j.accounts.setdefault(v["credit_account"], [0, 0, 0])
            credit[1] += v["amount_fen"]
            credit[2] += 1
            if prev is None or not out_of_order:
                prev = row
        self._missing(c, name)
        listed_rows = self.listed[name].get("rows")
        if listed_rows != j.rows:
            self.fail(c, name, None, f"{j.rows} rows, the manifest says {listed_rows}")
        rng = m["range"]
        expected = {
            "entries": j.rows,
            "first_seq": j.first_seq,
            "first_prev_hash": j.first_prev_hash,
            "last_seq": j.last_seq,
            "last_hash": j.last_hash,
        }
        for key, value in expected.items():
            if rng.get(key) != value:
                self.fail(
                    c,
                    "manifest.json",
                    None,
                    f"range.{key} is {rng.get(key)!r}, the journal's is {value!r}",
                )
        if complete:
            ends_at = (j.last_seq or 0, j.last_hash or GENESIS_HASH)
            if ends_at != (head_seq, head_hash):
                self.fail(
                    c,
                    name,
                    prev.line if prev else None,
                    f"the chain ends at seq {ends_at[0]} hash {ends_at[1][:16]}... but the signed "
                    f"head is seq {head_seq} hash {str(head_hash)[:16]}...",
                )
        elif j.last_seq is not None and j.last_seq == head_seq and j.last_hash != head_hash:
            self.fail(
                c,
                name,
                prev.line if prev else None,
                "the last row is the signed head's seq but not its hash",
            )
        if not complete and isinstance(head_seq, int) and head_seq > 0 and j.last_seq != head_seq:
            self.report.not_checkable.append(
                f"journal chain: the signed head (seq {head_seq}) lies outside this filtered "
                "export's rows, so whether these rows lead to it cannot be checked; each row's "
                "hash, the runs of consecutive rows, the files and the totals are checked"
            )
        span = f"seq {j.first_seq}..{j.last_seq}" if j.rows else "no entries"
        end = "ends at the signed head" if complete else f"signed head is seq {head_seq}"
        c.detail = f"{name}: {j.rows} rows, {span}; {end}"
        return j

    def _row(
        self, c: Check, name: str, row: _Row, prev: _Row | None, complete: bool, head_seq
    ) -> bool:
        """Check one row; True when it comes after a row of a higher seq (then
        the next row is compared with that one)."""
        v, line = row.values, row.line
        seq = v["seq"]
        if v["amount"] != format_amount(v["amount_fen"]) or v["amount_fen"] <= 0:
            self.fail(
                c,
                name,
                line,
                f"seq {seq}: amount {v['amount']} does not match amount_fen {v['amount_fen']}",
            )
        posted_at = _hash_time(v["posted_at"])
        if posted_at is None:
            self.fail(
                c, name, line, f"seq {seq}: posted_at {v['posted_at']!r} is not {HASH_TIME_FORMAT}"
            )
            return False
        recomputed = entry_hash_text(
            seq,
            v["transfer_id"],
            v["debit_account"],
            v["credit_account"],
            v["asset"],
            v["amount_fen"],
            posted_at,
            v["prev_hash"],
        )
        if recomputed != v["hash"]:
            self.fail(
                c,
                name,
                line,
                f"seq {seq}: the hash does not recompute from the row (the row was changed)",
            )
        if isinstance(head_seq, int) and seq > head_seq:
            self.fail(c, name, line, f"seq {seq} is beyond the signed head (seq {head_seq})")
        if seq == 1 and v["prev_hash"] != GENESIS_HASH:
            self.fail(c, name, line, "seq 1 does not start from the genesis hash")
        if prev is None:
            if complete and seq != 1:
                self.fail(
                    c,
                    name,
                    line,
                    f"the chain starts at seq {seq}, not 1: rows are missing before it",
                )
            return False
        p = prev.values
        gap, told = self._gap, False
        if gap is not None:
            if gap[0] < seq < gap[1]:
                self._gap = None
                told = True
                self.fail(
                    c,
                    name,
                    gap[2],
                    f"seq {gap[1]} (line {gap[2]}) and seq {seq} (line {line}) are out of order: "
                    f"entry {seq} comes after entry {gap[1]}",
                    gap[3],
                )
            else:
                self._missing(c, name)
        if seq <= p["seq"]:
            if not told:
                self.fail(
                    c,
                    name,
                    line,
                    f"seq {seq} after seq {p['seq']} (line {prev.line}): rows are reordered, repeated or inserted",
                )
            return True
        if seq == p["seq"] + 1:
            if v["prev_hash"] != p["hash"]:
                self.fail(
                    c,
                    name,
                    line,
                    f"seq {seq} does not chain to seq {p['seq']} (line {prev.line}): its prev_hash is not that row's hash",
                )
        elif complete:
            # Told at the next row: missing, or out of order if that row is one of them.
            self._gap = (p["seq"], seq, line, len(self.report.problems))
        if v["transfer_id"] < p["transfer_id"]:
            self.fail(
                c,
                name,
                line,
                f"transfer {v['transfer_id']} after transfer {p['transfer_id']}: out of order",
            )
        elif v["transfer_id"] == p["transfer_id"]:
            if seq != p["seq"] + 1:
                self.fail(
                    c, name, line, f"transfer {v['transfer_id']}: its entries are not consecutive"
                )
            differ = [k for k in TRANSFER_FIELDS if v[k] != p[k]]
            if differ:
                self.fail(
                    c,
                    name,
                    line,
                    f"transfer {v['transfer_id']}: {', '.join(differ)} differ from its row at line {prev.line}",
                )
        return False

    def _journal_copy(self) -> None:
        if not ("journal.csv" in self.listed and "journal.jsonl" in self.listed):
            return
        c = self.check("journal copies")
        csv_rows = self._rows("journal.csv", None)  # its problems are reported already
        n = 0
        for jrow in self._rows("journal.jsonl", c):
            crow = next(csv_rows, None)
            n += 1
            if crow is None:
                self.fail(c, "journal.jsonl", jrow.line, "a row that journal.csv does not have")
                break
            if jrow.values != crow.values:
                differ = sorted(
                    k for k in JOURNAL_FIELDS if jrow.values.get(k) != crow.values.get(k)
                )
                self.fail(
                    c,
                    "journal.jsonl",
                    jrow.line,
                    f"differs from journal.csv line {crow.line} in {', '.join(differ)}",
                )
                break
        else:
            extra = next(csv_rows, None)
            if extra is not None:
                self.fail(c, "journal.csv", extra.line, "a row that journal.jsonl does not have")
        c.detail = f"journal.jsonl and journal.csv compared row by row ({n} rows)"

    def _control_totals(self, j: _Journal) -> None:
        c = self.check("control totals")
        listed = self.manifest["control_totals"]
        computed = {
            asset: {"count": n, "amount": format_amount(fen), "amount_fen": fen}
            for asset, (n, fen) in sorted(j.totals.items())
        }
        for asset in sorted(set(listed) | set(computed)):
            if listed.get(asset) != computed.get(asset):
                self.fail(
                    c,
                    "manifest.json",
                    None,
                    f"control_totals.{asset} is {listed.get(asset)}, the journal's is {computed.get(asset)}",
                )
        c.detail = (
            ", ".join(f"{a}: {t['count']} entries, {t['amount']}" for a, t in computed.items())
            or "no entries"
        )


# ---- fast paths for well-formed journal rows --------------------------------------
# Each gives exactly what _Verifier._typed gives for the rows it accepts, and
# None for anything unusual, which _typed then reads (and names the fault of).


def _fast_csv(raw: list[str]) -> dict | None:
    (seq, tid, kind, debit, credit, asset, amount, fen, at, prev, h, fw, tw, fo, to, ref) = raw
    if not (
        seq.isdecimal()
        and tid.isdecimal()
        and fen.isdecimal()
        and (fw == "" or fw.isdecimal())
        and (tw == "" or tw.isdecimal())
        and kind
        and debit
        and credit
        and asset
        and amount
        and at
        and prev
        and h
    ):
        return None
    return {
        "seq": int(seq),
        "transfer_id": int(tid),
        "kind": kind,
        "debit_account": debit,
        "credit_account": credit,
        "asset": asset,
        "amount": amount,
        "amount_fen": int(fen),
        "posted_at": at,
        "prev_hash": prev,
        "hash": h,
        "from_wallet": int(fw) if fw else None,
        "to_wallet": int(tw) if tw else None,
        "from_operator": fo or None,
        "to_operator": to or None,
        # csv_text_value tests the leading quote itself (a test of it here was
        # redundant: its mutant `... or True` could not be told apart).
        "reference": csv_text_value(ref) or None,
    }


def _fast_json(raw: dict) -> dict | None:
    g = raw.get
    seq, tid, fen = g("seq"), g("transfer_id"), g("amount_fen")
    kind, debit, credit, asset = g("kind"), g("debit_account"), g("credit_account"), g("asset")
    amount, at, prev, h = g("amount"), g("posted_at"), g("prev_hash"), g("hash")
    fw, tw, fo, to, ref = (
        g("from_wallet"),
        g("to_wallet"),
        g("from_operator"),
        g("to_operator"),
        g("reference"),
    )
    if not (
        type(seq) is int
        and type(tid) is int
        and type(fen) is int
        and type(kind) is str
        and type(debit) is str
        and type(credit) is str
        and type(asset) is str
        and type(amount) is str
        and type(at) is str
        and type(prev) is str
        and type(h) is str
        and kind
        and debit
        and credit
        and asset
        and amount
        and at
        and prev
        and h
        and (fw is None or type(fw) is int)
        and (tw is None or type(tw) is int)
        and (fo is None or type(fo) is str)
        and (to is None or type(to) is str)
        and (ref is None or type(ref) is str)
    ):
        return None
    return {
        "seq": seq,
        "transfer_id": tid,
        "kind": kind,
        "debit_account": debit,
        "credit_account": credit,
        "asset": asset,
        "amount": amount,
        "amount_fen": fen,
        "posted_at": at,
        "prev_hash": prev,
        "hash": h,
        "from_wallet": fw,
        "to_wallet": tw,
        "from_operator": fo or None,
        "to_operator": to or None,
        "reference": ref or None,
    }


def _as_dict(raw: list[str]) -> dict:
    """A CSV row as csv.DictReader gives it, missing fields None; cells beyond the
    fields are left out (csv.DictReader keeps them under None, which no check reads)."""
    # Equivalent as strict=None or without it: zip's default is not strict.
    out: dict = dict(zip(JOURNAL_FIELDS, raw, strict=False))  # pragma: no mutate
    for key in JOURNAL_FIELDS[len(raw) :]:
        # Equivalent as "": _typed reads an empty cell and a missing one alike.
        out[key] = None  # pragma: no mutate
    return out


@lru_cache(maxsize=64)
def _hash_time(text: str) -> str | None:
    """posted_at as the ledger hashed it (the time parsed and printed again), or
    None when it is not in HASH_TIME_FORMAT. Rows of one batch share a time."""
    try:
        when = datetime.strptime(text, HASH_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return when.strftime(HASH_TIME_FORMAT)
