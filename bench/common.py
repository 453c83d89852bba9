"""What every benchmark shares: the scale, results, timing and clean-up."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

# ECNY_BENCH_SCALE=0.1 runs every benchmark at a tenth of its size (quick check);
# durations shrink too, never below MIN_SECONDS.
SCALE = float(os.environ.get("ECNY_BENCH_SCALE", "1"))
MIN_SECONDS = 3.0


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, int(n * SCALE))


def seconds(n: float) -> float:
    return max(MIN_SECONDS, n * SCALE)


@dataclass
class Result:
    """One benchmark: its figure, the yardstick measured in the same run, and the ratio."""

    name: str
    figure: float | None
    unit: str
    yardstick: float | None = None
    yardstick_name: str | None = None
    target: str | None = None
    met: bool | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)
    measured: bool = True

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.yardstick:
            return None
        return self.figure / self.yardstick

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def not_measured(name: str, unit: str, why: str, target: str | None = None) -> Result:
    return Result(name, None, unit, target=target, met=None, notes=why, measured=False)


def ratio_target(res: Result, minimum: float) -> Result:
    res.target = f">= {minimum:.0%} of the yardstick"
    res.met = res.ratio is not None and res.ratio >= minimum
    return res


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.started


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)
