"""Offline verification of an audit export: no database, only the files.

Checks, in order (docs/audit.md has the auditor's view):

1. the manifest is readable and of a known format;
2. the digest of the chain head and the manifest itself carry valid Ed25519
   signatures — by the key given (trusted, obtained separately) or else by the
   key the manifest names (which proves integrity, not origin);
3. every listed file exists with its size and SHA-256, and nothing else is there;
4. every journal row's hash recomputes from its contents (with
   :func:`wallets.ledger.entry_hash` itself); rows are in ``seq`` order; each
   row chains to the row before whenever their ``seq`` are consecutive; an
   unfiltered export runs gap-free from genesis to the signed head; the rows
   of a transfer are consecutive and agree on the transfer's fields;
5. journal.jsonl and journal.csv hold the same rows;
6. the manifest's control totals are the journal's;
7. balances add up (and, for an unfiltered export, equal the journal's sums;
   per asset they sum to zero);
8. each camt.053 statement is valid against the XSD, its closing balance is its
   opening balance plus its booked entries, which are exactly the journal's
   entries on that wallet's account, and it closes at the balance of balances.csv;
9. audit_events.csv has the rows the manifest says.

Every problem is named with its file and line; the first one with a line is
the *first bad row*. Memory stays flat: files are read as streams.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lxml import etree

from ..ledger.money import AmountError, format_amount, parse_amount
from ..ledger.posting import GENESIS_HASH, HASH_TIME_FORMAT, entry_hash_text
from . import digest as dg
from .export import (
    CAMT_NS,
    JOURNAL_FIELDS,
    MANIFEST_FORMAT,
    XSD_PATH,
    csv_text_value,
    file_digest,
    manifest_message,
)

MAX_PROBLEMS = 200
# Fields of a journal row that belong to its transfer: equal on all its rows.
TRANSFER_FIELDS = (
    "kind",
    "posted_at",
    "from_wallet",
    "to_wallet",
    "from_operator",
    "to_operator",
    "reference",
)
INT_FIELDS = ("seq", "transfer_id", "amount_fen", "from_wallet", "to_wallet")
OPTIONAL_FIELDS = ("from_wallet", "to_wallet", "from_operator", "to_operator", "reference")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


@dataclass
class Check:
    name: str
    ok: bool = True
    detail: str = ""


@dataclass
class Report:
    directory: Path
    checks: list[Check] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    # Signed by the key given (the central bank's, obtained separately)? Without
    # one, the export's own key was used: integrity only.
    authenticated: bool = False
    # What this export cannot prove (a filtered export), said apart from problems.
    not_checkable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every check holds (whether the signer is authenticated or not)."""
        return self.problem_count == 0 and all(c.ok for c in self.checks)

    @property
    def verified(self) -> bool:
        """Every check holds and the signatures are the key given's."""
        return self.ok and self.authenticated

    @property
    def first_bad_row(self) -> Problem | None:
        with_line = [p for p in self.problems if p.line is not None]
        return with_line[0] if with_line else (self.problems[0] if self.problems else None)

    def lines(self) -> list[str]:
        out = [f"Verifying the audit export in {self.directory}"]
        for c in self.checks:
            out.append(f"[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
        for note in self.not_checkable:
            out.append(f"[not checkable] {note}")
        unchecked = (
            f" ({len(self.not_checkable)} thing(s) not checkable, listed above)"
            if self.not_checkable
            else ""
        )
        if self.ok and self.authenticated:
            out.append(f"EXPORT VERIFIED: every check holds{unchecked}")
            return out
        if self.ok:
            out.append(
                "UNAUTHENTICATED: the export is intact (integrity checked with the key it names "
                "itself), but its signer is not authenticated: give --public-key with the "
                f"central bank's key to verify it{unchecked}"
            )
            return out
        out.append(f"EXPORT DOES NOT VERIFY: {self.problem_count} problem(s)")
        first = self.first_bad_row
        if first is not None:
            out.append(f"first bad row: {first}")
        out.extend(f"  {p}" for p in self.problems)
        if self.problem_count > len(self.problems):
            out.append(f"  ... and {self.problem_count - len(self.problems)} more")
        return out


@dataclass
class _Row:
    line: int
    values: dict


@dataclass
class _Journal:
    """What the journal pass learns, for the checks after it."""

    rows: int = 0
    first_seq: int | None = None
    first_prev_hash: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    totals: dict[str, list[int]] = field(default_factory=dict)  # asset -> [count, fen]
    # account code -> [debits, credits, entries]
    accounts: dict[str, list[int]] = field(default_factory=dict)


class _Verifier:
    def __init__(
        self, directory: Path, public_key: Ed25519PublicKey | None, earlier: list[dict]
    ) -> None:
        self.dir = Path(directory)
        self.trusted_key = public_key
        self.earlier = earlier
        # seq -> (hash, line) of the journal rows that earlier digests name
        self.earlier_found: dict[int, tuple[str, int]] = {}
        self.report = Report(self.dir)
        self.manifest: dict = {}
        self.listed: dict[str, dict] = {}
        # A gap in a complete export's seq, told only at the next row: that row
        # may be the "missing" entry, out of order. (prev seq, seq, line, where
        # in the problems its report goes)
        self._gap: tuple[int, int, int, int] | None = None

    # -- bookkeeping
    def check(self, name: str) -> Check:
        c = Check(name)
        self.report.checks.append(c)
        return c

    def fail(
        self,
        check: Check | None,
        file: str,
        line: int | None,
        message: str,
        at: int | None = None,
    ) -> None:
        """Record a problem (``at``: in this place of the list, for a problem
        found late); with no check, stay silent (a second reading of a file whose
        problems were already reported)."""
        if check is None:
            return
        check.ok = False
        self.report.problem_count += 1
        if len(self.report.problems) < MAX_PROBLEMS:
            problem = Problem(file, line, message)
            if at is None:
                self.report.problems.append(problem)
            else:
                self.report.problems.insert(at, problem)

    def _missing(self, c: Check, name: str) -> None:
        """Report the pending gap as missing entries."""
        if self._gap is None:
            return
        p_seq, seq, line, at = self._gap
        self._gap = None
        missing = f"{p_seq + 1}" if seq == p_seq + 2 else f"{p_seq + 1}..{seq - 1}"
        self.fail(c, name, line, f"seq {seq} follows seq {p_seq}: entry {missing} is missing", at)

    # -- the checks
    def run(self) -> Report:
        if not self._manifest():
            return self.report
        self._signatures()
        self._files()
        journal = self._journal()
        if journal is not None:
            self._journal_copy()
            self._control_totals(journal)
            balances = self._balances(journal)
            self._statements(journal, balances)
            self._earlier_digests(journal)
        self._audit_events()
        return self.report

    def _manifest(self) -> bool:
        c = self.check("manifest")
        path = self.dir / "manifest.json"
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.fail(c, "manifest.json", None, "missing: this is not an audit export")
            return False
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail(c, "manifest.json", getattr(exc, "lineno", None), f"not valid JSON: {exc}")
            return False
        m = self.manifest
        if not isinstance(m, dict) or m.get("format") != MANIFEST_FORMAT:
            self.fail(c, "manifest.json", None, f"format is not {MANIFEST_FORMAT}")
            return False
        missing = [
            k
            for k in ("files", "digest", "range", "control_totals", "filters", "complete")
            if k not in m
        ]
        if missing:
            self.fail(c, "manifest.json", None, f"lacks {', '.join(missing)}")
            return False
        try:
            self.listed = {f["name"]: f for f in m["files"]}
        except (TypeError, KeyError):
            self.fail(c, "manifest.json", None, "files: each needs a name")
            return False
        scope = "complete (unfiltered)" if m["complete"] else f"filtered {json.dumps(m['filters'])}"
        c.detail = f"export {m.get('export_id')}, {scope}, {len(self.listed)} files listed"
        return True

    def _signatures(self) -> None:
        c = self.check("signatures")
        m = self.manifest
        digest = m["digest"]
        try:
            named_key = dg.load_public_key(digest["public_key"])
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(c, "manifest.json", None, f"digest.public_key is unusable: {exc}")
            return
        key = self.trusted_key or named_key
        fingerprint = dg.public_key_fingerprint(key)
        if self.trusted_key is not None:
            source = "the key given"
            self.report.authenticated = True
            if dg.public_key_fingerprint(named_key) != fingerprint:
                self.fail(
                    c,
                    "manifest.json",
                    None,
                    "digest.public_key is not the key given: the export was signed by another key",
                )
        else:
            source = "the manifest's own key: integrity only, signer UNAUTHENTICATED"
        if not dg.signature_valid(digest, key):
            self.fail(
                c,
                "manifest.json",
                None,
                f"digest: the signature over sequence {digest.get('sequence')}, head_hash and "
                f"time does not verify with {source}",
            )
        signature = (m.get("signature") or {}).get("value")
        if not signature or not dg.bytes_signature_valid(manifest_message(m), signature, key):
            self.fail(
                c,
                "manifest.json",
                None,
                f"the manifest's signature does not verify with {source}: the manifest was edited "
                "or signed by another key",
            )
        head = m.get("head") or {}
        if head and (
            head.get("sequence") != digest.get("sequence")
            or head.get("hash") != digest.get("head_hash")
        ):
            self.fail(c, "manifest.json", None, "head differs from the signed digest")
        c.detail = f"Ed25519 key {fingerprint[:16]}..., {source}"

    def _files(self) -> None:
        c = self.check("files")
        for name, entry in self.listed.items():
            path = self.dir / name
            if not path.is_file():
                self.fail(c, name, None, "listed in the manifest but missing")
                continue
            size, sha = file_digest(path)
            if sha != entry.get("sha256"):
                self.fail(c, name, None, "SHA-256 differs from the manifest: the file was changed")
            elif size != entry.get("bytes"):
                self.fail(c, name, None, f"{size} bytes, the manifest says {entry.get('bytes')}")
        for path in sorted(self.dir.rglob("*")):
            name = path.relative_to(self.dir).as_posix()
            if path.is_file() and name != "manifest.json" and name not in self.listed:
                self.fail(c, name, None, "not listed in the manifest")
        c.detail = f"{len(self.listed)} files checked against their size and SHA-256"

    # -- journal

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

    # -- balances

    def _balances(self, j: _Journal) -> dict[str, int]:
        """Check balances.csv; return its balance (fen) by account code."""
        c = self.check("balances")
        name = "balances.csv"
        out: dict[str, int] = {}
        if name not in self.listed or not (self.dir / name).is_file():
            self.fail(c, "manifest.json", None, "lists no balances.csv")
            return out
        complete = bool(self.manifest["complete"])
        per_asset: dict[str, int] = {}
        rows = 0
        with open(self.dir / name, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            line = reader.line_num + 1
            for raw in reader:
                rows += 1
                try:
                    debits, credits = int(raw["debits_fen"]), int(raw["credits_fen"])
                    balance = int(raw["balance_fen"])
                    code, asset = raw["code"], raw["asset"]
                    texts = (raw["debits"], raw["credits"], raw["balance"])
                except (KeyError, ValueError, TypeError) as exc:
                    self.fail(c, name, line, f"malformed row: {exc}")
                    line = reader.line_num + 1
                    continue
                if balance != credits - debits or texts != tuple(
                    format_amount(x) for x in (debits, credits, balance)
                ):
                    self.fail(c, name, line, f"{code}: the figures do not add up")
                if complete:
                    jd, jc, _ = j.accounts.get(code, [0, 0, 0])
                    if (debits, credits) != (jd, jc):
                        self.fail(
                            c,
                            name,
                            line,
                            f"{code}: debits/credits {format_amount(debits)}/{format_amount(credits)} "
                            f"but the journal sums to {format_amount(jd)}/{format_amount(jc)}",
                        )
                out[code] = balance
                per_asset[asset] = per_asset.get(asset, 0) + balance
                line = reader.line_num + 1
        if rows != self.listed[name].get("rows"):
            self.fail(
                c, name, None, f"{rows} rows, the manifest says {self.listed[name].get('rows')}"
            )
        if complete:
            for code in sorted(set(j.accounts) - set(out)):
                self.fail(c, name, None, f"{code} has journal entries but no balance")
            for asset, total in sorted(per_asset.items()):
                if total != 0:
                    self.fail(
                        c, name, None, f"{asset}: balances sum to {format_amount(total)}, not zero"
                    )
        what = "equal the journal's sums; per asset they sum to zero" if complete else "add up"
        c.detail = f"{rows} accounts; balances {what}"
        return out

    # -- statements

    def _statements(self, j: _Journal, balances: dict[str, int]) -> None:
        names = sorted(n for n in self.listed if n.startswith("camt053/"))
        if not names:
            return
        c = self.check("camt.053 statements")
        schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
        for name in names:
            if (self.dir / name).is_file():
                self._statement(c, name, schema, j, balances)
        c.detail = (
            f"{len(names)} statements valid against camt.053.001.08 and consistent with the journal"
        )

    def _statement(
        self, c: Check, name: str, schema, j: _Journal, balances: dict[str, int]
    ) -> None:
        ns = f"{{{CAMT_NS}}}"
        account: str | None = None
        bal: dict[str, int] = {}
        net = booked = entries = 0
        try:
            for _, el in etree.iterparse(str(self.dir / name), events=("end",), schema=schema):
                tag = el.tag
                if tag == f"{ns}Acct":
                    account = el.findtext(f"{ns}Id/{ns}Othr/{ns}Id")
                elif tag == f"{ns}Bal":
                    code = el.findtext(f"{ns}Tp/{ns}CdOrPrtry/{ns}Cd")
                    bal[code] = _signed(el, ns)
                elif tag == f"{ns}Ntry":
                    entries += 1
                    if el.findtext(f"{ns}Sts/{ns}Cd") == "BOOK":
                        booked += 1
                        net += _signed(el, ns)
                    el.clear()
                    while el.getprevious() is not None:
                        del el.getparent()[0]
        except (etree.XMLSyntaxError, AmountError, TypeError) as exc:
            line, message = self._invalid_xml(name, schema, exc)
            self.fail(c, name, line, f"not a valid camt.053.001.08 statement: {message}")
            return
        if entries != self.listed[name].get("rows"):
            self.fail(
                c,
                name,
                None,
                f"{entries} entries, the manifest says {self.listed[name].get('rows')}",
            )
        if "OPBD" not in bal or "CLBD" not in bal or account is None:
            self.fail(c, name, None, "lacks the account, or its opening or closing booked balance")
            return
        if bal["CLBD"] - bal["OPBD"] != net:
            self.fail(c, name, None, "closing balance is not opening balance plus booked entries")
        jd, jc, jn = j.accounts.get(account, [0, 0, 0])
        if (net, booked) != (jc - jd, jn):
            self._name_entry(c, name, account)
            self.fail(
                c,
                name,
                None,
                f"{account}: {booked} booked entries netting {format_amount(net)}, "
                f"but the journal has {jn} netting {format_amount(jc - jd)}",
            )
        if account in balances and balances[account] != bal["CLBD"]:
            self.fail(
                c,
                name,
                None,
                f"{account}: closes at {format_amount(bal['CLBD'])}, balances.csv says {format_amount(balances[account])}",
            )
        if self.manifest["complete"] and bal["OPBD"] != 0:
            self.fail(c, name, None, "an unfiltered export's statement must open at zero")

    def _statement_entries(self, name: str) -> Iterator[tuple[str, int, int | None]]:
        """A (valid) statement's entries: NtryRef, signed amount, line."""
        ns = f"{{{CAMT_NS}}}"
        for _, el in etree.iterparse(str(self.dir / name), events=("end",), tag=f"{ns}Ntry"):
            yield el.findtext(f"{ns}NtryRef") or "", _signed(el, ns), el.sourceline
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]

    def _name_entry(self, c: Check, name: str, account: str) -> None:
        """The first entry where a statement and the journal part, named by its
        NtryRef (the journal seq) and its place in the statement. Both are read
        again as streams, side by side: only when they were found to differ."""
        journal_name = self._journal_file()
        if journal_name is None:
            return

        def on_account() -> Iterator[tuple[int, int]]:
            for row in self._rows(journal_name, None):
                v = row.values
                if v and account in (v["debit_account"], v["credit_account"]):
                    yield (
                        v["seq"],
                        v["amount_fen"] if v["credit_account"] == account else -v["amount_fen"],
                    )

        journal = on_account()
        try:
            for pos, (ref, signed, line) in enumerate(self._statement_entries(name), start=1):
                found = next(journal, None)
                where = f"entry NtryRef {ref} (entry {pos} of the statement)"
                if found is None:
                    self.fail(c, name, line, f"{where}: the journal has no such entry on {account}")
                    return
                seq, fen = found
                if ref != str(seq):
                    self.fail(
                        c,
                        name,
                        line,
                        f"{where}: the journal's entry {pos} on {account} is seq {seq}",
                    )
                    return
                if signed != fen:
                    self.fail(
                        c,
                        name,
                        line,
                        f"{where}: {format_amount(abs(signed))} {'CRDT' if signed >= 0 else 'DBIT'}"
                        f", but the journal's entry {seq} is {format_amount(abs(fen))} "
                        f"{'CRDT' if fen >= 0 else 'DBIT'}",
                    )
                    return
            extra = next(journal, None)
            if extra is not None:
                self.fail(
                    c, name, None, f"the journal's entry {extra[0]} on {account} is not in it"
                )
        except (etree.XMLSyntaxError, AmountError, TypeError):
            return

    def _invalid_xml(self, name: str, schema, exc: Exception) -> tuple[int | None, str]:
        """Where a statement is invalid. Streaming validation does not say on which
        line, so an invalid file is parsed once more, whole, to find it."""
        if not isinstance(exc, etree.XMLSyntaxError):
            return None, str(exc)
        if exc.position[0]:
            return exc.position[0], exc.msg
        try:
            tree = etree.parse(str(self.dir / name))
        except etree.XMLSyntaxError as again:
            return again.position[0] or None, again.msg
        if schema.validate(tree):
            return None, exc.msg
        error = schema.error_log[0]
        return error.line or None, error.message

    def _earlier_digests(self, j: _Journal) -> None:
        """A digest kept from earlier names a head that this export's chain must
        still pass through, unchanged: nothing before it was rewritten since."""
        if not self.earlier:
            return
        c = self.check("earlier digests")
        key = self.trusted_key or dg.load_public_key(self.manifest["digest"]["public_key"])
        unchecked = 0
        name = self._journal_file() or "journal"
        for d in self.earlier:
            seq = d.get("sequence")
            label = (
                f"checkpoint {d['id']} (seq {seq}, taken at {d.get('time')})"
                if d.get("id") is not None
                else f"digest of seq {seq} taken at {d.get('time')}"
            )
            if not dg.signature_valid(d, key):
                self.fail(c, "digest", None, f"{label}: its signature does not verify with the key")
            elif seq == 0:
                if d.get("head_hash") != GENESIS_HASH:
                    self.fail(
                        c, "digest", None, f"{label}: an empty chain's head is the genesis hash"
                    )
            elif seq in self.earlier_found:
                found, line = self.earlier_found[seq]
                if found != d.get("head_hash"):
                    self.fail(
                        c,
                        name,
                        line,
                        f"seq {seq} has hash {found[:16]}..., but the {label} signed "
                        f"{str(d.get('head_hash'))[:16]}...: the chain was rewritten since",
                    )
            elif isinstance(seq, int) and seq > (j.last_seq or 0) and _later(d, self.manifest):
                # Kept from after this export was taken: the export cannot hold it.
                unchecked += 1
                self.report.not_checkable.append(
                    f"{label}: taken after this export (whose head is seq "
                    f"{self.manifest['digest'].get('sequence')}), so it cannot be checked here"
                )
            elif self.manifest["complete"] and isinstance(seq, int) and seq > (j.last_seq or 0):
                self.fail(c, name, None, f"{label}: the chain ends before it (it was truncated)")
            elif not self.manifest["complete"]:
                # Not a failure: a filtered export holds only some rows.
                unchecked += 1
                self.report.not_checkable.append(
                    f"{label}: seq {seq} lies outside this filtered export's rows, so whether "
                    "the chain still passes through it cannot be checked here (verify a "
                    "complete export, or `ecny audit checkpoints verify` against the database)"
                )
            else:
                self.fail(c, name, None, f"{label}: seq {seq} is not in this export, cannot check")
        checked = len(self.earlier) - unchecked
        c.detail = f"{checked} earlier digest(s) checked against the chain" + (
            f", {unchecked} not checkable" if unchecked else ""
        )

    def _audit_events(self) -> None:
        name = "audit_events.csv"
        if name not in self.listed:
            return
        c = self.check("audit log")
        path = self.dir / name
        if not path.is_file():
            return
        with open(path, newline="", encoding="utf-8") as f:
            rows = sum(1 for _ in csv.DictReader(f))
        if rows != self.listed[name].get("rows"):
            self.fail(
                c, name, None, f"{rows} rows, the manifest says {self.listed[name].get('rows')}"
            )
        c.detail = f"{rows} audit events"


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
        "reference": (csv_text_value(ref) if ref.startswith("'") else ref) or None,
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
    """A CSV row as csv.DictReader gives it: missing fields None, extra ones under None."""
    out: dict = dict(zip(JOURNAL_FIELDS, raw, strict=False))
    for key in JOURNAL_FIELDS[len(raw) :]:
        out[key] = None
    if len(raw) > len(JOURNAL_FIELDS):
        out[None] = raw[len(JOURNAL_FIELDS) :]
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


def _later(kept: dict, manifest: dict) -> bool:
    """Was the digest ``kept`` signed after the export's own digest?"""
    try:
        return datetime.fromisoformat(kept["time"]) > datetime.fromisoformat(
            manifest["digest"]["time"]
        )
    except (KeyError, TypeError, ValueError):
        return False


def _signed(el, ns: str) -> int:
    """An Amt with its CdtDbtInd as signed fen (credit positive)."""
    fen = parse_amount(el.findtext(f"{ns}Amt") or "", allow_zero=True)
    return fen if el.findtext(f"{ns}CdtDbtInd") == "CRDT" else -fen


def verify_export(
    directory: Path,
    public_key: Ed25519PublicKey | None = None,
    earlier_digests: list[dict] | None = None,
) -> Report:
    """Verify the export in ``directory``; trust ``public_key`` when given; check
    that the chain still passes through the heads of ``earlier_digests``."""
    return _Verifier(Path(directory), public_key, earlier_digests or []).run()
