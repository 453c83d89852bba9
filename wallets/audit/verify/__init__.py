"""Offline verification of an audit export: no database, only the files.

Checks, in order (docs/audit.md has the auditor's view):

1. the manifest is readable and of a known format;
2. the digest of the chain head and the manifest itself carry valid Ed25519
   signatures — by the key given (trusted, obtained separately) or else by the
   key the manifest names (which proves integrity, not origin);
3. every listed file exists with its size and SHA-256, and nothing else is there;
4. every journal row's hash recomputes from its contents (with
   :func:`wallets.ledger.posting.entry_hash` itself); rows are in ``seq`` order; each
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

One module per file format (manifest.py, journal.py, balances.py,
camt053.py, audit_events.py), each a mix-in over checks.py (the shared state and
bookkeeping); verifier.py runs them in the order above.
"""

from .report import Check, Problem, Report
from .verifier import verify_export

__all__ = ["Check", "Problem", "Report", "verify_export"]
