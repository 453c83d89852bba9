"""A failure's traceback for the server log names database errors without the
values their text may quote."""

from __future__ import annotations

import sqlalchemy as sa

from wallets.core.db import loggable


def test_a_database_error_is_named_by_class_and_sqlstate_only():
    def fail() -> None:
        try:
            raise ValueError("parsing went wrong")
        except ValueError as exc:
            raise sa.exc.IntegrityError(
                "INSERT INTO transfers (amount, reference) VALUES (?, ?)",
                (12345, "ref-secret"),
                Exception("DETAIL:  Key (reference)=(ref-secret) already exists."),
            ) from exc

    try:
        fail()
    except sa.exc.IntegrityError as exc:
        text = loggable(exc)
    assert "ref-secret" not in text and "12345" not in text and "parameters" not in text
    assert "sqlalchemy.exc.IntegrityError: builtins.Exception (SQLSTATE -)" in text
    # The chain reads as Python prints it: the cause first, then what it caused.
    assert (
        text.index("ValueError: parsing went wrong")
        < text.index("direct cause")
        < text.index("IntegrityError")
    )
    assert "in fail" in text
