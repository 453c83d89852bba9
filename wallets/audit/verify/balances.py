"""The check of balances.csv."""

from __future__ import annotations

import csv

from ...ledger.accounts import ECNY, HOLDING_KINDS, NEGATIVE_KINDS
from ...ledger.money import format_amount
from .checks import _Checks
from .report import Check, _Journal


class _BalanceChecks(_Checks):
    """balances.csv: each account's totals against the journal's."""

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
        kinds: list[tuple[str, str, str, int, int]] = []  # code, kind, asset, balance, line
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
                kinds.append((code, raw.get("kind") or "", asset, balance, line))
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
            self._invariants(c, name, kinds)
        what = (
            "equal the journal's sums; per asset they sum to zero; invariants 2 and 3 hold"
            if complete
            else "add up"
        )
        c.detail = f"{rows} accounts; balances {what}"
        return out

    def _invariants(self, c: Check, name: str, kinds: list[tuple[str, str, str, int, int]]) -> None:
        """A complete export's balances hold the ledger's invariants 2 and 3
        (docs/ledger.md): no account below zero but the contra and source
        accounts, and the e-CNY outstanding (minus the issuance account) equal
        to what the tier-2 accounts hold and to the operators' tier-1 positions."""
        outstanding = held = positions = 0
        for code, kind, asset, balance, line in kinds:
            if balance < 0 and kind not in NEGATIVE_KINDS:
                self.fail(c, name, line, f"{code}: {format_amount(balance)}, below zero")
            if asset != ECNY:
                continue
            if kind == "cb_issuance":
                outstanding -= balance
            elif kind in HOLDING_KINDS:
                held += balance
            elif kind == "position":
                positions += balance
        if not outstanding == held == positions:
            self.fail(
                c,
                name,
                None,
                f"e-CNY outstanding {format_amount(outstanding)}, but vaults, wallets, holds, "
                f"envelopes and offline accounts hold {format_amount(held)} and the "
                f"positions are {format_amount(positions)}",
            )
