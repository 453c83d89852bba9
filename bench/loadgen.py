"""A closed-loop HTTP load generator in separate processes (portable: no wrk).

Each client process sends one request at a time over http.client for a fixed
duration and records each answer's status and latency. The same generator
drives the sandbox and its yardstick, so its own cost is in both figures."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"

# make_request(client index, request number, rng) -> (path, headers, body bytes)
RequestMaker = Callable[[int, int, random.Random], tuple[str, dict[str, str], bytes]]
# count(status, body) -> units of work the answer stands for (1 per request, or
# the transfers a batch posted)
Counter = Callable[[int, bytes], int]


def one_per_2xx(status: int, body: bytes) -> int:
    return 1 if 200 <= status < 300 else 0


def posted_in_batch(status: int, body: bytes) -> int:
    return json.loads(body)["posted"] if status == 200 else 0


@dataclass
class Load:
    seconds: float
    requests: int = 0
    units: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.units / self.seconds

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _client(
    index: int,
    port: int,
    make: RequestMaker,
    count: Counter,
    start_at: float,
    stop_at: float,
    seed: int,
    out: mp.Queue,
) -> None:
    rng = random.Random(seed * 1000 + index)
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    n = units = 0
    errors: dict[int, int] = {}
    first_error = ""
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at:
        path, headers, body = make(index, n, rng)
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, data = 0, repr(exc).encode()
        latencies.append(time.perf_counter() - started)
        n += 1
        done = count(status, data) if status else 0
        units += done
        if not 200 <= status < 300:
            errors[status] = errors.get(status, 0) + 1
            first_error = first_error or f"{status}: {data[:300]!r}"
    conn.close()
    out.put((n, units, errors, latencies, first_error))


def run(
    port: int,
    make: RequestMaker,
    *,
    clients: int,
    seconds: float,
    count: Counter = one_per_2xx,
    seed: int = 1,
) -> Load:
    """``clients`` processes, each sending requests back to back for ``seconds``."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [
        ctx.Process(
            target=_client,
            args=(i, port, make, count, start_at, start_at + seconds, seed, out),
            daemon=True,
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    load = Load(seconds)
    try:
        for _ in procs:
            n, units, errors, latencies, first_error = out.get(timeout=seconds + 300)
            load.requests += n
            load.units += units
            load.latencies += latencies
            load.first_error = load.first_error or first_error
            for k, v in errors.items():
                load.errors[k] = load.errors.get(k, 0) + v
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    return load
