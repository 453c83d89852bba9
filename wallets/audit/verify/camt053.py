"""The checks of the camt.053 statements."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...ledger.money import AmountError, format_amount, parse_amount
from ..export import (
    CAMT_NS,
    XSD_PATH,
)
from .journal import _JournalChecks
from .report import Check, _Journal


class _Camt053Checks(_JournalChecks):
    """camt053/*.xml: valid against the XSD, balances that add up, exactly the
    journal's entries on the wallet's account."""

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


def _signed(el, ns: str) -> int:
    """An Amt with its CdtDbtInd as signed fen (credit positive)."""
    fen = parse_amount(el.findtext(f"{ns}Amt") or "", allow_zero=True)
    return fen if el.findtext(f"{ns}CdtDbtInd") == "CRDT" else -fen
