"""The offline voucher's format and the rule that judges a purse's vouchers
(wallets/retail/vouchers.py, wallets/retail/offline.py: judge), without a database."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from app.client import OfflineDevice
from wallets.core import errors
from wallets.retail import offline
from wallets.retail import vouchers as vf

VOUCHERS = st.lists(
    st.tuples(
        st.text("0123456789abcdef", min_size=4, max_size=4), st.integers(1, 6), st.integers(1, 500)
    ),
    max_size=12,
    unique_by=lambda v: v[0],
)


def test_the_canonical_encoding_is_the_documented_one():
    """docs/offline.md#vouchers shows these bytes, this id and this signature."""
    message = vf.voucher_message(1, 2, 2500, 1, vf.parse_time("2026-03-02T02:30:00Z"))
    assert message == (
        b'{"amount":"25.00","counter":1,"payee":2,"payer":1,'
        b'"time":"2026-03-02T02:30:00Z","type":"ecny.offline.voucher"}'
    )
    assert vf.voucher_id(message) == hashlib.sha256(message).hexdigest()
    device = OfflineDevice.from_seed(hashlib.sha256(b"demo purse 1").digest(), purse_id=1)
    assert device.device_key == "lHOEtAbqfiQuFNDk/mo1fKWmlfiiL3i+STguTlQQOs0="
    signed = device.pay(2, "25.00", "2026-03-02T02:30:00Z")
    assert signed["signature"].startswith("ubZTiqec3Zw") and signed["signature"].endswith("pCAQ==")
    assert vf.verify(device.device_key, message, signed["signature"])
    assert not vf.verify(device.device_key, message.replace(b"25.00", b"25.0"), signed["signature"])
    assert vf.unload_message(1, 1) == b'{"counter":1,"purse":1,"type":"ecny.offline.unload"}'


def test_a_device_key_is_32_bytes_in_standard_base64():
    assert len(vf.parse_device_key("lHOEtAbqfiQuFNDk/mo1fKWmlfiiL3i+STguTlQQOs0=")) == 32
    for bad in ("", "abc", "lHOEtAbqfiQuFNDk_mo1fKWmlfiiL3i-STguTlQQOs0=", "AAAA" * 12):
        try:
            vf.parse_device_key(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert not vf.verify("not a key", b"x", "AAAA")


@given(VOUCHERS, st.integers(0, 1500), st.randoms(use_true_random=False))
def test_the_rule_depends_on_the_set_alone_and_never_overspends(vouchers, capacity, rnd):
    judged = offline.judge(vouchers, capacity)
    shuffled = list(vouchers)
    rnd.shuffle(shuffled)
    assert offline.judge(shuffled, capacity) == judged
    assert judged.keys() == {v[0] for v in vouchers}
    honoured = [v for v in vouchers if judged[v[0]][0] == offline.HONOURED]
    assert sum(a for _, _, a in honoured) <= capacity
    assert len({c for _, c, _ in honoured}) == len(honoured)  # one per counter
    for vid, counter, _ in vouchers:
        twins = sorted(v for v, c, _ in vouchers if c == counter)
        if vid != twins[0]:
            assert judged[vid] == (offline.REFUSED, errors.OFFLINE_COUNTER_REUSED)
    # The standing vouchers in counter order: honoured up to the first that does not fit.
    standing = sorted(
        (c, a, v) for v, c, a in vouchers if v == min(x for x, y, _ in vouchers if y == c)
    )
    running, fits = 0, True
    for _, amount, vid in standing:
        fits = fits and running + amount <= capacity
        running += amount if fits else 0
        expected = (
            (offline.HONOURED, None) if fits else (offline.REFUSED, errors.OFFLINE_PURSE_OVERDRAWN)
        )
        assert judged[vid] == expected
