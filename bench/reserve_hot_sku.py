"""Reservation throughput on one hot stock level: 32 clients reserving 1 unit each, on Postgres.

    .venv/bin/python bench/reserve_hot_sku.py                       # 32 clients (4 processes x 8 threads), 20,000 units
    .venv/bin/python bench/reserve_hot_sku.py --processes 8 --threads 4 --stock 50000
    .venv/bin/python bench/reserve_hot_sku.py --no-pgbench

Drops and recreates its own database (`omnichannel_bench_res`), migrates it in a
subprocess, creates one SKU at one location and receives `--stock` units through
`inventory.services.stock_receive`. Then `--processes` processes (forked after
django.setup(), each opening its own connections) run `--threads` client threads each;
every client loops `with transaction.atomic(): stock_reserve([1 unit])` (the reservation
service the order API uses) until the service answers InsufficientStock. Processes get
round the GIL; threads keep the client count at 32 without 32 Python interpreters.

At the end it proves there was no oversell: successful reservations == stock ==
reserved == on_hand, as many open reservations as units, and `inventory_violations()`
empty. Then, if `pgbench` is on the PATH, it runs the same 32 clients against
(1) a bare single-row `UPDATE` (the ceiling for one hot row on this machine) and
(2) the service's earlier shape, without Python (UPDATE, then the two INSERTs, then COMMIT:
the row lock is held across the INSERTs), (3) the shape `stock_reserve` has now (the
INSERTs first, then the conditional UPDATE, then COMMIT: the lock is held only from the
UPDATE to the COMMIT), and (4) as one statement (a CTE: the conditional UPDATE ... RETURNING
feeds both INSERTs) inside BEGIN/COMMIT and in autocommit. Each shows what the row lock
costs per round trip held.

Last line: `reservations_per_s=<n> p99_ms=<n>`.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
SKU_CODE = "HOT-1"
LOCATION_CODE = "HOT-WH"


def log(message: str) -> None:
    print(message, flush=True)


# --- the database ------------------------------------------------------------------------


def reset_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def migrate(db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 40}
    result = subprocess.run([PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def django_setup(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(stock: int) -> int:
    """One SKU at one warehouse with `stock` units received; returns the stock level id."""
    from django.db import transaction

    from inventory.models import Location, Product, Sku
    from inventory.services import stock_receive

    with transaction.atomic():
        product = Product.objects.create(code="HOT", name="Hot product")
        sku = Sku.objects.create(product=product, code=SKU_CODE, name="Hot SKU")
        location = Location.objects.create(code=LOCATION_CODE, name="Hot warehouse", kind="warehouse",
                                           address_line1="Dock 1", city="Amsterdam", postal_code="1000AA",
                                           latitude=52.4, longitude=4.8)
        level = stock_receive(sku=sku, location=location, quantity=stock, actor="bench")
    return level.pk


# --- the load ------------------------------------------------------------------------------


def reserve_through_service(level_id: int, reference_id: str, actor: str) -> None:
    from inventory.services import ReserveRequest, stock_reserve

    stock_reserve([ReserveRequest(level_id, 1, reference_id)], reference_type="bench", actor=actor)


def client_loop(level_id: int, client: int, start: threading.Event, out: dict) -> None:
    from django.db import connection, transaction

    from inventory.errors import InsufficientStock

    latencies: list[float] = []
    errors: list[str] = []
    connection.ensure_connection()
    start.wait()
    n = 0
    while True:
        began = time.perf_counter()
        try:
            with transaction.atomic():
                reserve_through_service(level_id, f"c{client}-{n}", f"bench:{client}")
        except InsufficientStock:
            break
        except Exception as exc:  # counted and reported: the run must have none
            errors.append(repr(exc))
            if len(errors) > 20:
                break
            continue
        latencies.append(time.perf_counter() - began)
        n += 1
    out[client] = (latencies, errors, time.monotonic())
    connection.close()


def process_main(level_id: int, first_client: int, threads: int, ready, go, results) -> None:
    """One load process: `threads` clients, started when the parent sets `go`."""
    from django.db import connections

    connections.close_all()  # never reuse a connection inherited from the parent
    start = threading.Event()
    out: dict = {}
    workers = [threading.Thread(target=client_loop, args=(level_id, first_client + i, start, out))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.2)  # let every thread connect
    ready.put(os.getpid())
    go.wait()
    start.set()
    for worker in workers:
        worker.join()
    latencies = [x for lat, _, _ in out.values() for x in lat]
    errors = [e for _, errs, _ in out.values() for e in errs]
    results.put((latencies, errors, max(end for _, _, end in out.values())))


def run_load(level_id: int, processes: int, threads: int) -> tuple[list[float], list[str], float]:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=process_main, args=(level_id, p * threads, threads, ready, go, results))
             for p in range(processes)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=60)
    started = time.monotonic()
    go.set()
    collected = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    latencies = [x for lat, _, _ in collected for x in lat]
    errors = [e for _, errs, _ in collected for e in errs]
    return latencies, errors, max(end for _, _, end in collected) - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def verify(level_id: int, stock: int, successes: int) -> list[str]:
    """Everything that would show an oversell or a broken ledger."""
    from inventory.checks import inventory_violations
    from inventory.models import Reservation, StockLevel

    level = StockLevel.objects.get(pk=level_id)
    problems = []
    if successes != stock:
        problems.append(f"{successes} successful reservations for {stock} units")
    if (level.reserved, level.on_hand) != (stock, stock):
        problems.append(f"reserved={level.reserved} on_hand={level.on_hand}, expected both {stock}")
    open_units = sum(Reservation.objects.filter(stock_level_id=level_id, status="open")
                     .values_list("quantity", flat=True))
    if open_units != stock:
        problems.append(f"open reservations hold {open_units} units, expected {stock}")
    problems.extend(str(v) for v in inventory_violations())
    return problems


# --- pgbench ---------------------------------------------------------------------------------

RESERVE_SHAPE = """\
BEGIN;
UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now()
 WHERE id = {level} AND (on_hand - reserved - safety_stock - damaged - quality_control) >= 1;
INSERT INTO inventory_reservation (stock_level_id, quantity, status, reference_type, reference_id, channel_code, created_at)
 VALUES ({level}, 1, 'open', 'pgbench', :client_id, '', now()) RETURNING id;
INSERT INTO inventory_stockmovement (stock_level_id, state, delta, reason, reference_type, reference_id, actor, note, created_at)
 VALUES ({level}, 'reserved', 1, 'reserve', 'pgbench', :client_id, 'pgbench', '', now()) RETURNING id;
COMMIT;
"""


ONE_STATEMENT = """\
WITH taken AS (
  UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now()
   WHERE id = {level} AND (on_hand - reserved - safety_stock - damaged - quality_control) >= 1 RETURNING id),
 reservation AS (
  INSERT INTO inventory_reservation (stock_level_id, quantity, status, reference_type, reference_id, channel_code, created_at)
  SELECT id, 1, 'open', 'pgbench', :client_id, '', now() FROM taken RETURNING id),
 movement AS (
  INSERT INTO inventory_stockmovement (stock_level_id, state, delta, reason, reference_type, reference_id, actor, note, created_at)
  SELECT id, 'reserved', 1, 'reserve', 'pgbench', :client_id, 'pgbench', '', now() FROM taken)
SELECT id FROM reservation;
"""


def inserts_first(script: str) -> str:
    lines = script.splitlines()
    update, inserts = lines[1:3], lines[3:7]
    return "\n".join([lines[0], *inserts, *update, *lines[7:]]) + "\n"


def pgbench(db_url: str, script: str, clients: int, seconds: int, threads: int) -> float | None:
    from urllib.parse import urlparse

    url = urlparse(db_url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            ["pgbench", "-n", "-c", str(clients), "-j", str(threads), "-T", str(seconds), "-f", handle.name,
             "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
             url.path.lstrip("/")], capture_output=True, text=True, check=False)
    finally:
        os.unlink(handle.name)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if not match:
        log(f"pgbench failed: {result.stdout[-500:]} {result.stderr[-500:]}")
        return None
    return float(match.group(1))


def pgbench_comparison(db_url: str, clients: int, seconds: int) -> None:
    import psycopg

    from inventory.models import Location, Sku, StockLevel

    if shutil.which("pgbench") is None:
        log("pgbench not found: no comparison")
        return
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_one_row (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_one_row VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0")
    sku, location = Sku.objects.get(code=SKU_CODE), Location.objects.get(code=LOCATION_CODE)
    sku2 = Sku.objects.create(product=sku.product, code="HOT-2", name="Hot SKU for pgbench")
    level = StockLevel.objects.create(sku=sku2, location=location, on_hand=10**9)  # pgbench only, no ledger
    bare = pgbench(db_url, "UPDATE bench_one_row SET n = n + 1 WHERE id = 1;\n", clients, seconds, 2)
    shape = RESERVE_SHAPE.format(level=level.pk)
    as_is = pgbench(db_url, shape, clients, seconds, 2)
    reordered = pgbench(db_url, inserts_first(shape), clients, seconds, 2)
    one = ONE_STATEMENT.format(level=level.pk)
    one_in_transaction = pgbench(db_url, f"BEGIN;\n{one}COMMIT;\n", clients, seconds, 2)
    one_autocommit = pgbench(db_url, one, clients, seconds, 2)
    log(f"pgbench, {clients} clients, {seconds} s each (tps; round trips that hold the row lock):")
    log(f"  bare single-row UPDATE, autocommit (1):               {bare}")
    log(f"  earlier shape: UPDATE, 2 INSERTs, COMMIT (4):         {as_is}")
    log(f"  stock_reserve's shape: INSERTs, UPDATE, COMMIT (2):   {reordered}")
    log(f"  one statement (UPDATE..RETURNING feeds both INSERTs), BEGIN/COMMIT (2): {one_in_transaction}")
    log(f"  the same one statement, autocommit (1):               {one_autocommit}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stock", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="client threads per process")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL",
                                                              "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--database", default="omnichannel_bench_res")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--db-options", default="", metavar="QUERY",
                        help="appended to the app's DATABASE_URL, e.g. server_side_binding=true&prepare_threshold=2")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients = args.processes * args.threads
    db_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    log(f"database {args.database}: drop, create, migrate")
    reset_database(args.admin_url, args.database)
    migrate(db_url)
    django_setup(f"{db_url}?{args.db_options}" if args.db_options else db_url)
    level_id = seed(args.stock)
    log(f"{clients} clients ({args.processes} processes x {args.threads} threads) reserve 1 unit each "
        f"through inventory.services.stock_reserve until {args.stock:,} units are gone; load average {os.getloadavg()[0]:.1f}")
    latencies, errors, elapsed = run_load(level_id, args.processes, args.threads)
    problems = verify(level_id, args.stock, len(latencies))
    rate = len(latencies) / elapsed
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    log(f"{len(latencies):,} reservations in {elapsed:.2f} s; latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; errors {len(errors)}")
    if errors:
        log("errors: " + "; ".join(sorted(set(errors))[:5]))
    log("no oversell: successes == stock == reserved == on_hand, open reservations == stock, ledger invariants hold"
        if not problems else "OVERSELL OR LEDGER PROBLEM:\n  " + "\n  ".join(problems[:20]))
    if not args.no_pgbench:
        pgbench_comparison(db_url, clients, args.pgbench_seconds)
    print(f"reservations_per_s={rate:.0f} p99_ms={p99:.2f}", flush=True)
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
