"""Fixtures: a fresh, migrated sandbox per test on SQLite, and on PostgreSQL
when ECNY_TEST_POSTGRES_URL is set (required when ECNY_REQUIRE_POSTGRES=1).

After every test that used a sandbox, the ledger's invariants are checked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from tests.openapi_check import check_responses
from wallets.access import keys
from wallets.audit.reconcile import reconcile
from wallets.core import db as dbmod
from wallets.core.config import Settings

PG_URL = os.environ.get("ECNY_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("ECNY_REQUIRE_POSTGRES") == "1"


def pytest_configure(config):
    if REQUIRE_PG and not PG_URL:
        raise pytest.UsageError("ECNY_REQUIRE_POSTGRES=1 but ECNY_TEST_POSTGRES_URL is not set")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# ---- databases ----------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite database that each test copies. Kept between runs in
    the temp directory, named by a hash of the migrations (and of the code
    they run), so that a run — each xdist worker, each mutant of
    `make mutation` — migrates only when the schema changed."""
    root = Path(__file__).resolve().parent.parent / "wallets"
    digest = hashlib.sha256()
    for source in sorted([*root.glob("migrations/**/*.py"), *root.glob("core/*.py")]):
        digest.update(source.relative_to(root).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    path = Path(tempfile.gettempdir()) / f"ecny-template-{digest.hexdigest()[:16]}.sqlite3"
    if not path.exists():
        scratch = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
        dbmod.upgrade(f"sqlite:///{scratch}")
        os.replace(shutil.copy(scratch, path.with_suffix(f".{uuid.uuid4().hex}")), path)
    return path


class PgServer:
    """Creates throw-away databases from a migrated template (fast copies)."""

    def __init__(self, url: str) -> None:
        self.url = sa.engine.make_url(url)
        self.admin = sa.create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self.template = f"ecny_tpl_{_worker()}_{uuid.uuid4().hex[:6]}"
        self._create(self.template)
        dbmod.upgrade(self.url_for(self.template))
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def fresh(self, migrated: bool = True) -> tuple[str, str]:
        name = f"ecny_t_{_worker()}_{uuid.uuid4().hex[:10]}"
        self._create(name, self.template if migrated else None)
        return name, self.url_for(name)

    def close(self) -> None:
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server():
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail(
                "PostgreSQL is required (ECNY_REQUIRE_POSTGRES=1) but ECNY_TEST_POSTGRES_URL is unset"
            )
        pytest.skip("set ECNY_TEST_POSTGRES_URL to run the PostgreSQL tests")
    server = PgServer(PG_URL)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server):
    """An empty (unmigrated) PostgreSQL database."""
    name, url = pg_server.fresh(migrated=False)
    yield url
    pg_server.drop(name)


def _fresh_url(request, backend: str, tmp_path) -> tuple[str, callable]:
    if backend == "sqlite":
        path = tmp_path / "ecny.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}", lambda: None
    server: PgServer = request.getfixturevalue("pg_server")
    name, url = server.fresh()
    return url, lambda: server.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path):
    url, cleanup = _fresh_url(request, backend, tmp_path)
    yield url
    cleanup()


# ---- the sandbox --------------------------------------------------------------


@dataclass
class Sandbox:
    """A migrated sandbox with an app, a test client and a key per role."""

    app: object
    db: dbmod.Database
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def client(self):
        return self.app.test_client()

    def key(self, role: str, **scope) -> str:
        return self.db.write(keys.create, role, **scope).key

    def call(
        self,
        method: str,
        path: str,
        key: str | None = "admin",
        json=None,
        idem: str | None = None,
        **kw,
    ):
        headers = kw.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        if idem is not None:
            headers["Idempotency-Key"] = idem
        return self.client.open(path, method=method, json=json, headers=headers, **kw)

    def get(self, path, key="admin", **kw):
        return self.call("GET", path, key, **kw)

    def post(self, path, json=None, key="admin", **kw):
        return self.call("POST", path, key, json=json, **kw)

    def ok(
        self, method: str, path: str, key="admin", json=None, status: int | None = None, **kw
    ) -> dict:
        r = self.call(method, path, key, json=json, **kw)
        expected = status or (201 if method == "POST" else 200)
        assert r.status_code == expected, (
            f"{method} {path} -> {r.status_code}: {r.get_data(as_text=True)}"
        )
        return r.get_json()

    # Conveniences that go through the API, as a tester would.
    def operator(
        self, code: str, reserve: str = "1000000.00", issue: str | None = "500000.00"
    ) -> str:
        self.ok(
            "POST", "/v1/operators", json={"code": code, "name": f"{code} bank"}, key="central_bank"
        )
        self.ok(
            "POST",
            f"/v1/operators/{code}/reserve-deposits",
            json={"amount": reserve},
            key="central_bank",
        )
        if issue:
            self.ok(
                "POST",
                f"/v1/operators/{code}/issuances",
                json={"amount": issue},
                key="central_bank",
            )
        self.keys[code] = self.key("operator", operator_code=code)
        return code

    def wallet(self, operator: str, wallet_class: int = 1, fund: str | None = None, **attrs) -> int:
        body = {"wallet_class": wallet_class, "region": attrs.pop("region", "CN"), **attrs}
        if wallet_class == 4:
            body.setdefault("phone", "+8613800000000")
        elif body.get("kind", "personal") == "personal":
            body.setdefault("birth_date", "1990-01-01")
        w = self.ok("POST", "/v1/wallets", json=body, key=operator)
        if fund:
            self.ok("POST", f"/v1/wallets/{w['id']}/fund", json={"amount": fund}, key=operator)
        return w["id"]

    def balance(self, wallet_id: int, key="admin") -> str:
        return self.ok("GET", f"/v1/wallets/{wallet_id}/balance", key=key)["balance"]

    def journal_count(self) -> int:
        with self.db.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT COUNT(*) FROM journal_entries").scalar_one()

    def reconcile(self):
        return self.db.read(reconcile)


def make_sandbox(url: str, var_dir=None) -> Sandbox:
    """``var_dir``: where the signing key and export jobs go (never the repo's var/)."""
    extra = {}
    if var_dir is not None:
        extra = {"signing_key_path": var_dir / "cb-ed25519.pem", "export_dir": var_dir / "exports"}
    settings = Settings(database_url=url, **extra)
    db = dbmod.Database(url)
    app = create_app({"TESTING": True, "SETTINGS": settings, "DATABASE": db})
    check_responses(app)  # every answer against the OpenAPI document
    sb = Sandbox(app=app, db=db)
    for role in ("admin", "central_bank", "auditor"):
        sb.keys[role] = sb.key(role)
    return sb


@pytest.fixture
def sandbox(database_url, tmp_path):
    sb = make_sandbox(database_url, tmp_path / "var")
    yield sb
    report = sb.reconcile()
    sb.db.dispose()
    broken = [f"{c.id}. {c.name}: {c.problems}" for c in report.checks if not c.ok]
    assert not broken, f"invariants broken after the test: {broken}"


@pytest.fixture
def another_sandbox(request, backend, tmp_path):
    """Makes more sandboxes on fresh databases of the same backend (to compare runs)."""
    made = []

    def make() -> Sandbox:
        folder = tmp_path / f"another{len(made)}"
        folder.mkdir()
        url, cleanup = _fresh_url(request, backend, folder)
        sb = make_sandbox(url, folder / "var")
        made.append((sb, cleanup))
        return sb

    yield make
    for sb, cleanup in made:
        report = sb.reconcile()
        sb.db.dispose()
        cleanup()
        assert report.ok, [c.problems for c in report.checks if not c.ok]


@pytest.fixture
def demo(sandbox):
    """Two operators with e-CNY and funded wallets: ICBC (1, 2) and BOC (3)."""
    sandbox.operator("ICBC")
    sandbox.operator("BOC")
    sandbox.demo_wallets = {
        "a": sandbox.wallet("ICBC", 1, fund="1000.00"),
        "b": sandbox.wallet("ICBC", 2, fund="500.00"),
        "c": sandbox.wallet("BOC", 1, fund="200.00", region="HK"),
    }
    return sandbox


# ---- the demo of `make run`, served live, and the docs' curl walk-throughs ---------


def seeded_demo(folder):
    """The demo sandbox that `make run` seeds, afresh in ``folder`` (SQLite):
    its app, its database, and its keys by (role, operator code or casino ref):
    ``keys[("operator", "ICBC")]``, ``keys[("auditor", None)]``."""
    from wallets.seed import seed_demo

    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    dbmod.upgrade(url)
    settings = Settings(
        database_url=url,
        signing_key_path=folder / "cb-ed25519.pem",
        export_dir=folder / "exports",
    )
    database = dbmod.Database(url)
    seeded = seed_demo(database, settings)
    keys = {(k.role, k.operator_code or k.casino_ref): k.key for k in seeded.keys}
    app = create_app({"SETTINGS": settings, "DATABASE": database})
    check_responses(app)  # an answer unlike the document is a 500 the test sees
    return app, database, keys


@contextmanager
def served(app):
    """``app`` served on a free port of 127.0.0.1 (in a thread): its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def live_demo(tmp_path):
    """The demo sandbox that `make run` seeds, served on a free port of 127.0.0.1.
    Yields (base URL, keys by (role, operator code or casino ref))."""
    app, database, keys = seeded_demo(tmp_path)
    with served(app) as base:
        yield base, keys
    database.dispose()


@pytest.fixture
def run_walkthrough():
    """A function: run a doc's curl walk-through as written (see _run_walkthrough)."""
    return _run_walkthrough


def _run_walkthrough(doc: str, env: dict[str, str]) -> list:
    """Run the bash block after `<!-- walkthrough: ... -->` in a doc, as written;
    return the JSON body of each curl call, in order."""
    import json
    import re
    import subprocess
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / doc).read_text()
    match = re.search(r"<!-- walkthrough:[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert match, f"{doc} lost its walk-through block"
    script = "set -euo pipefail\n" + match.group(1).replace("\ncurl ", "\necho; curl ")
    done = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
