"""Race functions against each other in threads (the concurrency tests' helper)."""

from __future__ import annotations

import threading

from wallets.core import errors


def race(fns) -> list[str]:
    """Run the functions in threads at once; the outcome of each: 'ok' or its error code."""
    barrier = threading.Barrier(len(fns))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(fn) -> None:
        barrier.wait()
        try:
            fn()
            outcome = "ok"
        except errors.DomainError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
