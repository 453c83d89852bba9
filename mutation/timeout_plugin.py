"""A per-test timeout for mutant runs (loaded with ``-p mutation.timeout_plugin``).

A mutant can make a test loop or wait for ever (an undo that never ends, a lock
that is never released). When one test runs longer than
``MUTATION_TEST_TIMEOUT`` seconds (default 60), the test process exits with
code 36, which mutmut records as ``timeout``: the driver reports it apart and
counts it as caught only when the mutant is listed, with its reason, in
``DOCUMENTED_TIMEOUTS`` of ``mutation/modules.py``.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

# mutmut's exit code for "timeout" (mutmut.stats.status_by_exit_code).
TIMEOUT_EXIT_CODE = 36


def _seconds() -> int:
    return int(os.environ.get("MUTATION_TEST_TIMEOUT", "60"))


def _expired(signum, frame):  # pragma: no cover - runs only in a hanging mutant
    os._exit(TIMEOUT_EXIT_CODE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    armed = threading.current_thread() is threading.main_thread()
    if armed:
        previous = signal.signal(signal.SIGALRM, _expired)
        signal.alarm(_seconds())
    try:
        yield
    finally:
        if armed:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
