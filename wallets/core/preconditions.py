"""ETags and If-Match (RFC 9110 sections 8.8.3 and 13.1.1), for every write
that updates a resource (SPEC.md §10; docs/api.md "ETags").

A resource's ETag is derived from its stored state: a wallet's from its
version counter (wallets/retail/wallet.py), the others' from a hash of what
their writes set (:func:`etag_of`). A write checks the caller's
:class:`IfMatch` in its own transaction, after it has locked the row it
changes (PostgreSQL; a SQLite writer holds the database's one write lock from
``BEGIN IMMEDIATE`` on), so no other write can come between the check and the
change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import errors


@dataclass(frozen=True)
class IfMatch:
    """A caller's If-Match precondition: it holds when the resource exists and
    its current ETag is one of ``tags`` (strong comparison: a weak tag never
    matches), or for any current version when ``any_tag`` (``*``)."""

    tags: frozenset[str] = frozenset()
    any_tag: bool = False

    def matches(self, etag: str | None) -> bool:
        """``etag`` None: the resource does not exist, which nothing matches."""
        return etag is not None and (self.any_tag or etag in self.tags)

    def require(self, etag: str | None, what: str) -> None:
        """412 ``etag_mismatch`` unless it matches ``etag``, the current ETag of
        ``what`` (a name for the problem's detail)."""
        if self.matches(etag):
            return
        if etag is None:
            raise errors.DomainError(errors.ETAG_MISMATCH, f"{what} does not exist yet")
        raise errors.DomainError(
            errors.ETAG_MISMATCH, f"{what} changed: its current ETag is {etag}", etag=etag
        )


def check(if_match: IfMatch | None, etag: str | None, what: str) -> None:
    """An optional If-Match: nothing to check without one."""
    if if_match is not None:
        if_match.require(etag, what)


def etag_of(kind: str, state: Any) -> str:
    """A strong ETag of ``state`` (JSON-able; dates and decimals as text): the
    same for the same state, another for any other. ``kind`` starts it, so
    that tags of different resources never look alike."""
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), default=str)
    return f'"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"'
