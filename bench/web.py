"""HTTP benchmarks: single transfers and batches under gunicorn on SQLite,
against a bare Flask endpoint served the same way in the same run."""

from __future__ import annotations

import json
import random
from pathlib import Path

from . import loadgen
from .common import Result, log, ratio_target, scaled, seconds
from .server import gunicorn
from .world import OPERATORS, World, build

WORKERS = 2
CLIENTS = 4
BATCH_SIZE = 1000
BATCH_CLIENTS = 2


def app_env(world: World, workdir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": world.url,
        "ECNY_SIGNING_KEY": str(workdir / "cb-ed25519.pem"),
        "ECNY_EXPORT_DIR": str(workdir / "exports"),
    }


def single_transfers(world: World, tag: str) -> loadgen.RequestMaker:
    """Client i pays as operator OPERATORS[i % 3], from one of its wallets to any wallet,
    each request with its own Idempotency-Key."""
    groups = world.by_operator()
    payees = [w.id for w in world.wallets]

    def make(client: int, n: int, rng: random.Random):
        code = OPERATORS[client % len(OPERATORS)]
        payer = rng.choice(groups[code]).id
        payee = rng.choice(payees)
        while payee == payer:
            payee = rng.choice(payees)
        body = {
            "from_wallet": payer,
            "to_wallet": payee,
            "amount": f"{rng.randint(1, 999) / 100:.2f}",
        }
        headers = {
            "Authorization": f"Bearer {world.keys[code]}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"{tag}-{client}-{n}",
        }
        return "/v1/transfers", headers, json.dumps(body).encode()

    return make


def batches(world: World, tag: str) -> loadgen.RequestMaker:
    groups = world.by_operator()
    payees = [w.id for w in world.wallets]

    def make(client: int, n: int, rng: random.Random):
        code = OPERATORS[client % len(OPERATORS)]
        items = []
        for k in range(BATCH_SIZE):
            payer = rng.choice(groups[code]).id
            payee = rng.choice(payees)
            while payee == payer:
                payee = rng.choice(payees)
            items.append(
                {
                    "id": f"{tag}-{client}-{n}-{k}",
                    "from_wallet": payer,
                    "to_wallet": payee,
                    "amount": "0.05",
                }
            )
        headers = {
            "Authorization": f"Bearer {world.keys[code]}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"{tag}-{client}-{n}",
        }
        return "/v1/transfers/batch", headers, json.dumps({"transfers": items}).encode()

    return make


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 2)


def _describe(load: loadgen.Load) -> dict:
    return {
        "requests": load.requests,
        "seconds": load.seconds,
        "errors": load.errors,
        "first_error": load.first_error,
        "p50_ms": _ms(load.percentile(50)),
        "p99_ms": _ms(load.percentile(99)),
    }


def run(workdir: Path) -> list[Result]:
    duration = seconds(20)
    wallets = scaled(3000, 300)
    log(f"http: building {wallets} wallets")
    world = build(f"sqlite:///{workdir / 'http.sqlite3'}", wallets, with_keys=True)
    env = app_env(world, workdir)
    make = single_transfers(world, "single")
    log(f"http: sandbox, {WORKERS} gunicorn workers, {CLIENTS} clients, {duration:.0f} s")
    with gunicorn("wsgi:app", WORKERS, env) as port:
        ours = loadgen.run(port, make, clients=CLIENTS, seconds=duration)
    log(f"http: {ours.rate:,.0f} transfers/s, p99 {_ms(ours.percentile(99))} ms; yardstick")
    with gunicorn("bench.bare_app:app", WORKERS) as port:
        bare = loadgen.run(port, make, clients=CLIENTS, seconds=duration)
    single = ratio_target(
        Result(
            "http_single_sqlite",
            ours.rate,
            "transfers/s",
            bare.rate,
            "bare Flask endpoint (parse JSON, 201), same gunicorn and load",
            notes=f"gunicorn {WORKERS} workers on SQLite, {CLIENTS} clients, {duration:.0f} s; "
            f"p99 {_ms(ours.percentile(99))} ms (yardstick p99 {_ms(bare.percentile(99))} ms)",
            extra={"sandbox": _describe(ours), "yardstick": _describe(bare)},
        ),
        0.40,
    )
    batch_seconds = seconds(15)
    log(f"http: batches of {BATCH_SIZE}, {BATCH_CLIENTS} clients, {batch_seconds:.0f} s")
    with gunicorn("wsgi:app", WORKERS, env) as port:
        load = loadgen.run(
            port,
            batches(world, "batch"),
            clients=BATCH_CLIENTS,
            seconds=batch_seconds,
            count=loadgen.posted_in_batch,
        )
    batch = Result(
        "http_batch_sqlite",
        load.rate,
        "transfers/s",
        target=">= 25,000 transfers/s",
        met=load.rate >= 25_000,
        notes=f"POST /v1/transfers/batch, {BATCH_SIZE} per request, {BATCH_CLIENTS} clients, "
        f"gunicorn {WORKERS} workers on SQLite; p99 {_ms(load.percentile(99))} ms per batch",
        extra=_describe(load),
    )
    return [single, batch]
