"""A built wheel is the whole program: installed in a fresh venv, away from the
checkout, it migrates a database, seeds the demo, serves a payment, and
exports and verifies the audit files.

How it stays fast. The sdist and the wheel are built (``python -m build``:
the wheel from the sdist, so MANIFEST/package_data gaps show) from a copy of
the checkout, in build isolation as pyproject.toml asks (setuptools from
PyPI, or pip's cache). The fresh venv is made ``--without-pip``; the wheel is
installed into it by this environment's pip (``pip --python``), ``--no-deps``
and ``--no-index``. The dependencies are not installed again from PyPI (tens
of seconds and a network): a ``.pth`` file in the fresh venv names this
environment's site-packages. A path listed in a ``.pth`` file joins
``sys.path`` after the venv's own site-packages, and the ``.pth`` files inside
it are not run, so the editable install of this checkout (its
``__editable__*`` finder is started by a ``.pth`` file there) is not active
in the fresh venv. PYTHONPATH is cleared, and the working directory is a
temporary one, so nothing of the checkout can be imported; the test asserts
that ``wallets`` and ``app`` come from the fresh venv, and that nothing was
written under it (the var dir defaults to ``./var`` of the current directory).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "wallets")

pytestmark = pytest.mark.slow


def _copy_checkout(dest: Path) -> None:
    """The checkout's files as git sees them (tracked, and new files not ignored):
    no .venv, egg-info or build/ of earlier builds."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, (n.decode() for n in listed)):
            src = ROOT / name
            if src.is_symlink():  # migrations -> wallets/migrations
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(src), dest / name)
            elif src.is_file():  # a file deleted but not yet committed is listed too
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
        return
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "var", "*.egg-info", "__pycache__", ".*_cache"
    )
    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)


def _package_files(src: Path) -> set[str]:
    """Every file of the packages in the source tree: the wheel must carry them all."""
    return {
        p.relative_to(src).as_posix()
        for package in PACKAGES
        for p in (src / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path_factory):
    base = tmp_path_factory.mktemp("packaging")
    assert not base.resolve().is_relative_to(ROOT)
    src, dist, venv, work = (base / d for d in ("src", "dist", "venv", "work"))
    for d in (src, work):
        d.mkdir()

    # 1. Build the sdist and, from it, the wheel.
    _copy_checkout(src)
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)], base, dict(os.environ))
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
    missing = _package_files(src) - in_wheel
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert "wallets/migrations/env.py" in in_wheel

    # 2. A fresh venv with the wheel; dependencies from this environment (docstring).
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base, dict(os.environ))
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        base,
        dict(os.environ),
    )
    fresh_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            work,
            {"PATH": "/usr/bin:/bin"},
        ).strip()
    )
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (fresh_site / "_ecny_test_dependencies.pth").write_text("".join(f"{d}\n" for d in deps))

    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{work / 'ecny.sqlite3'}",
    }
    ecny = str(venv / "bin" / "ecny")
    # Where the modules come from (`app` located, not imported: its import costs seconds).
    where = json.loads(
        _run(
            [
                str(python),
                "-c",
                "import importlib.util, json, wallets, wallets.core.db as d; print(json.dumps("
                "[wallets.__file__, importlib.util.find_spec('app').origin, str(d.MIGRATIONS_DIR)]))",
            ],
            work,
            env,
        )
    )
    for path in where:
        assert Path(path).resolve().is_relative_to(venv.resolve()), where

    # 3. Migrate, seed, serve, pay.
    _run([ecny, "db", "upgrade"], work, env)
    _run([ecny, "seed", "demo", "--keys-file", "keys.json"], work, env)
    keys = json.loads((work / "keys.json").read_text())
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [ecny, "serve", "--port", str(port), "--workers", "1"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if requests.get(f"{url}/openapi.json", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, "ecny serve did not answer"
            time.sleep(0.2)
        icbc = {"Authorization": f"Bearer {keys['operator']['ICBC']}"}
        paid = requests.post(
            f"{url}/v1/transfers",
            json={"from_wallet": 2, "to_wallet": 10, "amount": "12.34", "reference": "wheel"},
            headers={**icbc, "Idempotency-Key": "wheel-pay-1"},
            timeout=30,
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["amount"] == "12.34" and paid.json()["to_operator"] == "BOCMO"
        balance = requests.get(f"{url}/v1/wallets/2/balance", headers=icbc, timeout=30).json()
        assert balance["balance"] == "79987.66"  # 80,000.00 seeded
        # The console's templates and stylesheet came with the wheel.
        sign_in = requests.get(f"{url}/console/sign-in", timeout=30)
        assert sign_in.status_code == 200 and "console.css" in sign_in.text
        css = requests.get(f"{url}/console/static/console.css", timeout=30)
        assert css.status_code == 200 and css.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stderr.close()

    # 4. The auditor's export, verified: its statements against the wheel's camt.053
    # schema (--integrity-only spares a run of `ecny audit public-key`).
    _run([ecny, "audit", "export", "--out", "export"], work, env)
    verdict = _run([ecny, "audit", "verify", "export", "--integrity-only"], work, env)
    assert "valid against camt.053.001.08" in verdict, verdict

    # The sandbox's files went to ./var of the working directory, none into the venv.
    assert (work / "var" / "central-bank-ed25519.pem").is_file()
    assert not any(p.name == "var" for p in venv.rglob("var"))
