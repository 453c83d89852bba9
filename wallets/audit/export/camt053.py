"""camt053/<wallet id>.xml: an ISO 20022 camt.053.001.08 statement per wallet,
and the statements' electronic sequence numbers, given before the snapshot."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import sqlalchemy as sa
from lxml import etree

from ...core.db import Tx
from ...core.schema import (
    accounts,
    journal_entries,
    operators,
    statement_numbers,
    transfers,
    wallets,
)
from ...ledger.money import format_amount
from ...retail.statement import held_at
from ...retail.wallet import wallet_account_code
from .common import ExportedFile, Filters, ProgressFactory, _Scope, _stream, resolve

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
XSD_PATH = Path(__file__).with_name("iso20022") / "camt.053.001.08.xsd"
# e-CNY is CNY: statements state amounts in the ISO 4217 currency.
CAMT_CURRENCY = "CNY"
BANK_TX_CODE_ISSUER = "ECNY-SANDBOX"
# Proprietary balance type: e-CNY of the wallet's open holds, in its operator's escrow.
HELD_BALANCE = "HELD"
# ISO 20022 Max35Text: a longer reference is cut to its first 35 characters in
# EndToEndId; RmtInf/Ustrd (Max140Text) always holds it whole.
END_TO_END_MAX = 35


class _Unnumbered(Exception):
    """Wallets in scope whose statement has no number of this export."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _statement_accounts(tx: Tx, scope: _Scope):
    """The ECNY accounts of the wallets in scope: one statement each."""
    return (
        sa.select(accounts.c.id)
        .join(wallets, wallets.c.id == accounts.c.wallet_id)
        .where(accounts.c.asset == "ECNY", *scope.accounts_where())
    )


def reserve_statement_numbers(tx: Tx, filters: Filters, export_id: str) -> int:
    """Give the next electronic sequence number (ElctrncSeqNb) to the statement
    of every wallet in scope that has none of this export yet, before the
    export's snapshot: one more than the last one given to its account (1 for
    its first). Returns how many it numbered (again, it numbers only those
    opened since, or taken over by another export)."""
    scope = resolve(tx, filters)
    sn = statement_numbers
    in_scope = _statement_accounts(tx, scope)
    first = tx.conn.execute(
        sn.insert().from_select(
            ["account_id", "last_number", "export_id"],
            sa.select(accounts.c.id, sa.literal(1), sa.literal(export_id))
            .join(wallets, wallets.c.id == accounts.c.wallet_id)
            .where(
                accounts.c.asset == "ECNY",
                *scope.accounts_where(),
                accounts.c.id.not_in(sa.select(sn.c.account_id)),
            ),
        )
    ).rowcount
    return (
        first
        + tx.conn.execute(
            sn.update()
            .where(sn.c.account_id.in_(in_scope), sn.c.export_id != export_id)
            .values(last_number=sn.c.last_number + 1, export_id=export_id)
        ).rowcount
    )


# ---- camt.053 statements -----------------------------------------------------------


def _el(name: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A new element in the camt namespace."""
    # lxml takes None as the prefix of the default namespace; lxml-stubs allow str only.
    el = etree.Element(f"{{{CAMT_NS}}}{name}", attrs, nsmap={None: CAMT_NS})  # type: ignore[dict-item]
    if text is not None:
        el.text = text
    return el


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str):
    """A child element in the camt namespace."""
    el = etree.SubElement(parent, f"{{{CAMT_NS}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def _amount(parent, name: str, fen: int) -> None:
    _sub(parent, name, format_amount(abs(fen)), Ccy=CAMT_CURRENCY)


def _balance(code: str, fen: int, when: datetime, proprietary: bool = False) -> etree._Element:
    bal = _el("Bal")
    _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Prtry" if proprietary else "Cd", code)
    _amount(bal, "Amt", fen)
    _sub(bal, "CdtDbtInd", "CRDT" if fen >= 0 else "DBIT")
    _sub(_sub(bal, "Dt"), "DtTm", when.isoformat())
    return bal


def _account_id(parent, name: str, code: str) -> None:
    """An account identified by its ledger code (ISO's Max34Text holds every wallet's)."""
    acct = _sub(parent, name)
    othr = _sub(_sub(acct, "Id"), "Othr")
    _sub(othr, "Id", code[:34])
    _sub(othr, "Issr", BANK_TX_CODE_ISSUER)


def _entry_element(v: dict[str, str], with_reference: bool) -> etree._Element:
    """A booked entry (Ntry) of a statement, from its texts."""
    ntry = _el("Ntry")
    _sub(ntry, "NtryRef", v["seq"])
    _sub(ntry, "Amt", v["amount"], Ccy=CAMT_CURRENCY)
    _sub(ntry, "CdtDbtInd", v["side"])
    _sub(_sub(ntry, "Sts"), "Cd", "BOOK")
    _sub(_sub(ntry, "BookgDt"), "DtTm", v["posted_at"])
    _sub(_sub(ntry, "ValDt"), "DtTm", v["posted_at"])
    _sub(ntry, "AcctSvcrRef", v["ref"])
    prtry = _sub(_sub(ntry, "BkTxCd"), "Prtry")
    _sub(prtry, "Cd", v["kind"])
    _sub(prtry, "Issr", BANK_TX_CODE_ISSUER)
    tx_dtls = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
    refs = _sub(tx_dtls, "Refs")
    _sub(refs, "AcctSvcrRef", v["ref"])
    _sub(refs, "EndToEndId", v["end_to_end"])
    _sub(refs, "TxId", v["transfer_id"])
    _sub(tx_dtls, "Amt", v["amount"], Ccy=CAMT_CURRENCY)
    _sub(tx_dtls, "CdtDbtInd", v["side"])
    parties = _sub(tx_dtls, "RltdPties")
    _account_id(parties, "DbtrAcct", v["debit_account"])
    _account_id(parties, "CdtrAcct", v["credit_account"])
    if with_reference:
        _sub(_sub(tx_dtls, "RmtInf"), "Ustrd", v["reference"])
    _sub(tx_dtls, "AddtlTxInf", v["info"])
    return ntry


class _EntryTemplate:
    """Building ~40 elements per entry dominates an export's time; copying a
    prototype and filling in its texts is three times faster."""

    SLOTS = (
        "seq",
        "amount",
        "side",
        "posted_at",
        "ref",
        "kind",
        "end_to_end",
        "transfer_id",
        "debit_account",
        "credit_account",
        "reference",
        "info",
    )

    def __init__(self, with_reference: bool) -> None:
        self.proto = _entry_element({k: f"@@{k}@@" for k in self.SLOTS}, with_reference)
        self.slots = [
            (i, el.text[2:-2])
            for i, el in enumerate(self.proto.iter())
            if el.text and el.text.startswith("@@")
        ]
        # The prototype as text, cut at its slots: rendering is then a join of
        # escaped texts (five times faster again than copying elements).
        pieces = re.split(r"@@(\w+)@@", etree.tostring(self.proto, encoding="unicode"))
        self.literals, self.keys = pieces[0::2], pieces[1::2]

    def render(self, values: dict[str, str]) -> etree._Element:
        el = copy.deepcopy(self.proto)
        nodes = list(el.iter())
        for i, key in self.slots:
            nodes[i].text = values[key]
        return el

    def render_text(self, values: dict[str, str]) -> str:
        """The entry serialized, as lxml serializes :meth:`render`'s element."""
        if any(_NEEDS_LXML.search(values[k]) for k in self.keys):
            # Characters lxml escapes otherwise (or refuses): let it decide.
            return etree.tostring(self.render(values), encoding="unicode")
        out = [self.literals[0]]
        for key, literal in zip(self.keys, self.literals[1:], strict=True):
            out.append(xml_escape(values[key]))
            out.append(literal)
        return "".join(out)


# Anything but the characters that xml_escape and lxml write alike.
_NEEDS_LXML = re.compile(r"[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEMPLATES = {True: _EntryTemplate(True), False: _EntryTemplate(False)}


def _is_intermediary(code: str) -> bool:
    """An operator's account that a payment passes through (its settlement
    account), not a party: neither a wallet nor an escrow of holds."""
    return code.startswith("OP:") and not code.endswith(":HOLDS")


def counterparties(r: sa.Row, account_id: int) -> tuple[str, str]:
    """(debtor, creditor) account as a statement names them: the entry's own
    accounts, except that a leg between a wallet and an operator's settlement
    account (a payment across operators) names the other wallet of the transfer
    instead of the settlement account."""
    debit, credit = r.debit_account, r.credit_account
    own_credit = r.credit_account_id == account_id
    counter = debit if own_credit else credit
    if (
        r.from_wallet_id is not None
        and r.to_wallet_id is not None
        and r.from_wallet_id != r.to_wallet_id
        and _is_intermediary(counter)
    ):
        other = wallet_account_code(r.from_wallet_id if own_credit else r.to_wallet_id)
        if own_credit:
            debit = other
        else:
            credit = other
    return debit, credit


def end_to_end_id(reference: str | None) -> str:
    """EndToEndId: the reference, cut to its first 35 characters when longer."""
    return (reference or "NOTPROVIDED")[:END_TO_END_MAX]


def _statement_values(r: sa.Row, account_id: int) -> dict[str, str]:
    debtor, creditor = counterparties(r, account_id)
    return {
        "seq": str(r.seq),
        "amount": format_amount(r.amount),
        "side": "CRDT" if r.credit_account_id == account_id else "DBIT",
        "posted_at": r.posted_at.isoformat(),
        "ref": f"{r.transfer_id}/{r.seq}",
        "kind": r.kind,
        "end_to_end": end_to_end_id(r.reference),
        "transfer_id": str(r.transfer_id),
        "debit_account": debtor[:34],
        "credit_account": creditor[:34],
        "reference": (r.reference or "")[:140],
        "info": f"{r.kind} {r.debit_account} -> {r.credit_account}"[:500],
    }


def statement_entry_text(r: sa.Row, account_id: int) -> str:
    """The Ntry of one journal entry on the statement of ``account_id``, serialized."""
    return _TEMPLATES[bool(r.reference)].render_text(_statement_values(r, account_id))


def _statement_figures(tx: Tx, scope: _Scope, account_id: int) -> dict[str, tuple[int, int]]:
    """Count and sum of the account's entries up to the export's end, by
    (before the range | in it) x (debit | credit)."""
    je = journal_entries
    before = (
        sa.case((je.c.posted_at < scope.filters.from_, "before"), else_="in")
        if scope.filters.from_ is not None
        else sa.literal("in")
    ).label("part")
    side = sa.case((je.c.credit_account_id == account_id, "C"), else_="D").label("side")
    stmt = (
        sa.select(before, side, sa.func.count(), sa.func.coalesce(sa.func.sum(je.c.amount), 0))
        .where(
            sa.or_(je.c.debit_account_id == account_id, je.c.credit_account_id == account_id),
            *scope.until_end(),
        )
        .group_by(before, side)
    )
    return {f"{p}{s}": (int(n), int(total)) for p, s, n, total in tx.conn.execute(stmt)}


def _statement_rows(tx: Tx, scope: _Scope, export_id: str) -> Sequence[sa.Row]:
    """Every wallet in scope, with the number this export gave its statement;
    :class:`_Unnumbered` (before anything is written) if any has none: no
    wallet in scope is left without its statement."""
    sn = statement_numbers
    rows = tx.conn.execute(
        sa.select(
            wallets.c.id,
            accounts.c.id.label("account_id"),
            accounts.c.code,
            operators.c.code.label("operator"),
            sn.c.last_number.label("number"),
            sn.c.export_id,
        )
        .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == "ECNY"))
        .join(operators, operators.c.id == wallets.c.operator_id)
        .outerjoin(sn, sn.c.account_id == accounts.c.id)
        .where(*scope.accounts_where())
        .order_by(wallets.c.id)
    ).all()
    missing = sum(1 for r in rows if r.export_id != export_id)
    if missing:
        raise _Unnumbered(missing)
    return rows


def _write_statements(
    tx: Tx,
    scope: _Scope,
    out_dir: Path,
    export_id: str,
    progress: ProgressFactory,
    wallet_rows: Sequence[sa.Row],
) -> list[ExportedFile]:
    (out_dir / "camt053").mkdir(exist_ok=True)
    bar = progress("statements", len(wallet_rows))
    out = []
    try:
        for w in wallet_rows:
            out.append(_write_statement(tx, scope, out_dir, export_id, w))
            bar.update(1)
    finally:
        bar.close()
    return out


def _write_statement(
    tx: Tx, scope: _Scope, out_dir: Path, export_id: str, w: sa.Row
) -> ExportedFile:
    f = scope.filters
    figures = _statement_figures(tx, scope, w.account_id)
    opening = figures.get("beforeC", (0, 0))[1] - figures.get("beforeD", (0, 0))[1]
    credits_n, credits = figures.get("inC", (0, 0))
    debits_n, debits = figures.get("inD", (0, 0))
    closing = opening + credits - debits
    start = f.from_ or _first_posting(tx) or scope.now
    end = f.to or scope.now
    # A hold's funds went to the operator's escrow by a booked entry (kind
    # "hold"); what is still held at the end is stated as a proprietary balance.
    held = held_at(tx, w.id, f.to)
    name = f"camt053/{w.id}.xml"
    je, t = journal_entries, transfers
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    entries = (
        sa.select(
            je.c.seq,
            je.c.transfer_id,
            je.c.debit_account_id,
            je.c.credit_account_id,
            debit.c.code.label("debit_account"),
            credit.c.code.label("credit_account"),
            je.c.amount,
            je.c.posted_at,
            t.c.kind,
            t.c.reference,
            t.c.from_wallet_id,
            t.c.to_wallet_id,
        )
        .select_from(je)
        .join(t, t.c.id == je.c.transfer_id)
        .join(debit, debit.c.id == je.c.debit_account_id)
        .join(credit, credit.c.id == je.c.credit_account_id)
        .where(
            sa.or_(je.c.debit_account_id == w.account_id, je.c.credit_account_id == w.account_id),
            *scope.until_end(),
            *([je.c.posted_at >= f.from_] if f.from_ is not None else []),
        )
        .order_by(je.c.seq)
    )
    rows = 0
    # Written as text: the head's few elements serialized by lxml, the entries
    # from their templates (statement_entry_text), as etree.xmlfile wrote them.
    with open(out_dir / name, "w", encoding="utf-8") as out:
        write = out.write
        write(f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{CAMT_NS}\">")
        write("<BkToCstmrStmt>\n")
        hdr = _el("GrpHdr")
        _sub(hdr, "MsgId", f"{export_id}-{w.id}"[:35])
        _sub(hdr, "CreDtTm", scope.now.isoformat())
        _sub(hdr, "AddtlInf", "e-CNY sandbox audit export; amounts in CNY (e-CNY)")
        write(etree.tostring(hdr, encoding="unicode"))
        write("\n<Stmt>")
        head = [
            _el("Id", f"{export_id}-{w.id}"[:35]),
            _el("ElctrncSeqNb", str(w.number)),
            _el("CreDtTm", scope.now.isoformat()),
        ]
        period = _el("FrToDt")
        _sub(period, "FrDtTm", start.isoformat())
        _sub(period, "ToDtTm", max(start, end).isoformat())
        head.append(period)
        acct = _el("Acct")
        othr = _sub(_sub(acct, "Id"), "Othr")
        _sub(othr, "Id", w.code)
        _sub(othr, "Issr", BANK_TX_CODE_ISSUER)
        _sub(acct, "Ccy", CAMT_CURRENCY)
        _sub(acct, "Nm", f"e-CNY wallet {w.id}")
        _sub(_sub(_sub(_sub(acct, "Svcr"), "FinInstnId"), "Othr"), "Id", w.operator)
        head.append(acct)
        head.append(_balance("OPBD", opening, start))
        head.append(_balance("CLBD", closing, end))
        if held:
            head.append(_balance(HELD_BALANCE, held, end, proprietary=True))
        summary = _el("TxsSummry")
        for tag, n, total in (
            ("TtlCdtNtries", credits_n, credits),
            ("TtlDbtNtries", debits_n, debits),
        ):
            part = _sub(summary, tag)
            _sub(part, "NbOfNtries", str(n))
            _sub(part, "Sum", format_amount(total))
        head.append(summary)
        for el in head:
            write(etree.tostring(el, encoding="unicode"))
            write("\n")
        for r in _stream(tx, entries):
            write(statement_entry_text(r, w.account_id))
            write("\n")
            rows += 1
        write("</Stmt></BkToCstmrStmt></Document>")
    return ExportedFile(name, rows)


def _first_posting(tx: Tx) -> datetime | None:
    return tx.conn.execute(
        sa.select(journal_entries.c.posted_at).order_by(journal_entries.c.seq).limit(1)
    ).scalar()
