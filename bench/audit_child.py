"""One export or verification in a process of its own, so that its peak memory
(VmHWM) is its own: `python -m bench.audit_child export|verify ...`.
Prints one JSON line: seconds, rows, peak and baseline RSS in MiB."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.verify import verify_export
from wallets.core.db import Database


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str]) -> None:
    what, *args = argv
    base = _status_mib("VmRSS")  # the interpreter and every library loaded, before any work
    if what == "export":
        url, out, key_file, formats = args
        key = dg.load_or_create_key(Path(key_file))
        db = Database(url)
        started = time.perf_counter()
        result = ex.export(db, Path(out), ex.parse_filters(formats=formats), key)
        seconds = time.perf_counter() - started
        rows, ok = result.manifest["range"]["entries"], True
        db.dispose()
    else:
        out, key_file = args
        key = dg.load_or_create_key(Path(key_file))
        started = time.perf_counter()
        report = verify_export(Path(out), key.public_key())
        seconds = time.perf_counter() - started
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        rows, ok = manifest["range"]["entries"], report.ok
    # This process's high-water mark (ru_maxrss would include the parent's: Linux
    # carries it across exec).
    peak = _status_mib("VmHWM")
    print(
        json.dumps({"seconds": seconds, "rows": rows, "ok": ok, "peak_mib": peak, "base_mib": base})
    )


if __name__ == "__main__":
    main(sys.argv[1:])
