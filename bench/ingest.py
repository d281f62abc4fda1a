"""Order-capture throughput: gunicorn on Postgres, a Celery worker on Redis, N clients.

    .venv/bin/python bench/ingest.py                     # 32 clients, 5 s warm-up, 20 s measured
    .venv/bin/python bench/ingest.py --duration 60 --worker-class sync --workers 3
    .venv/bin/python bench/ingest.py --rate 250          # open loop: 250 orders/s on a fixed schedule

Each run drops and recreates its own database (`omnichannel_bench`), migrates it, seeds a
network through the project's ORM and services (10 locations around Amsterdam, 2,000 SKUs
received with `stock_receive`, a web channel and its token), flushes Redis db 3, starts
gunicorn (DEBUG off; gthread, 2 workers x 4 threads, keep-alive) and a Celery worker on
all queues (threads pool, 1 thread), counts the queries of one order POST, then has the clients
POST realistic orders (1-5 lines over SKUs of skewed popularity, customers from a pool of
5,000, an Amsterdam address) with a unique `Idempotency-Key` and `external_id` each.

The load generator is a hand-rolled asyncio HTTP/1.1 client (keep-alive when the server
allows it, a new connection per request with sync workers) so it costs little CPU.
Closed loop by default: each client sends its next order as soon as the last one is
answered, so with 32 clients latency ~ 32 / throughput. With `--rate` the clients follow
a fixed schedule and latency is measured from the scheduled send time (no coordinated
omission).

Informative lines go to stdout as they happen (CPU per process group, queries per POST,
what the worker got through); the last line is
`orders_per_s=<n> p50_ms=<n> p99_ms=<n> errors=<n>`. Any non-201 answer is an error;
the first few bodies go to stderr. Processes started here are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import os
import platform
import random
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

try:  # the project's own dependencies: run this with the project's virtualenv
    import psycopg
    import psycopg.sql
    import redis
except ImportError as exc:  # pragma: no cover
    raise SystemExit(f"{exc}: run it as .venv/bin/python bench/ingest.py") from exc

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent if (Path(sys.executable).parent / "gunicorn").exists() else ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
QUEUES = ["routing", "notifications", "channels", "default"]
SKU_PREFIX = "BN-"

# A small inline program run with django.setup() against the bench database: the network.
SEED = r'''
import json, os, random
import django
django.setup()
from decimal import Decimal
from django.db import transaction
from channels_sync.models import SalesChannel
from channels_sync.tokens import token_issue
from inventory.models import Location, Product, Sku
from inventory.services import stock_receive

n_skus = int(os.environ["BENCH_SKUS"])
rng = random.Random(7)
W, S = Location.Kind.WAREHOUSE, Location.Kind.STORE
LOCATIONS = [  # code, name, kind, street, postal code, city, lat, lon, same day
    ("BW-WPT", "Warehouse Westpoort", W, "Nieuw-Zeelandweg 15", "1045 AL", "Amsterdam", 52.4080, 4.7800, False),
    ("BW-SPL", "Warehouse Schiphol", W, "Pudongweg 37", "1437 EM", "Rozenburg", 52.2870, 4.7350, False),
    ("BS-KLV", "Store Kalverstraat", S, "Kalverstraat 212", "1012 XE", "Amsterdam", 52.3683, 4.8917, True),
    ("BS-PIJP", "Store De Pijp", S, "Ferdinand Bolstraat 119", "1072 LG", "Amsterdam", 52.3547, 4.8924, True),
    ("BS-OOST", "Store Oost", S, "Javastraat 88", "1094 HL", "Amsterdam", 52.3627, 4.9390, True),
    ("BS-NRD", "Store Noord", S, "Buikslotermeerplein 60", "1025 EV", "Amsterdam", 52.4007, 4.9327, False),
    ("BS-WEST", "Store West", S, "Kinkerstraat 120", "1053 ED", "Amsterdam", 52.3671, 4.8660, True),
    ("BS-ZUID", "Store Zuid", S, "Beethovenstraat 60", "1077 JH", "Amsterdam", 52.3451, 4.8769, True),
    ("BS-AMV", "Store Amstelveen", S, "Binnenhof 34", "1181 ZH", "Amstelveen", 52.3029, 4.8606, False),
    ("BS-BYL", "Store Bijlmer", S, "Arena Boulevard 81", "1101 DL", "Amsterdam", 52.3122, 4.9466, False),
]
CATEGORIES = ["Footwear", "Apparel", "Accessories", "Bags"]
with transaction.atomic():
    locations = [Location.objects.create(
        code=code, name=name, kind=kind, address_line1=street, postal_code=postal, city=city, country="NL",
        latitude=lat, longitude=lon, can_ship=True, can_pickup=kind == S, can_same_day=same_day,
        accepts_returns=kind == S,
        # stores take a capped number of orders a day, as in the demo network (so routing counts today's
        # orders at each, as a real network's would); the cap is high enough not to bind during a run
        daily_order_capacity=50_000 if kind == S else None)
        for code, name, kind, street, postal, city, lat, lon, same_day in LOCATIONS]
    products = Product.objects.bulk_create([
        Product(code=f"BP-{p:04d}", name=f"Bench product {p}", brand="Bench", category=CATEGORIES[p % 4])
        for p in range((n_skus + 9) // 10)])
    skus = Sku.objects.bulk_create([
        Sku(product=products[i // 10], code=f"BN-{i:05d}", barcode=f"899{i:010d}", name=f"Bench SKU {i}",
            attributes={"size": str(38 + i % 10)}, weight_grams=200 + (i % 9) * 100,
            price=Decimal(f"{9.95 + (i % 40) * 2.5:.2f}"))
        for i in range(n_skus)])
    levels = 0
    for sku in skus:
        for location in locations:
            if location.kind == W:
                quantity = 100_000
            elif rng.random() < 0.35:
                quantity = rng.randint(5, 40)
            else:
                continue
            stock_receive(sku=sku, location=location, quantity=quantity, reason="receive",
                          reference_type="bench", reference_id="seed", actor="bench")
            levels += 1
    channel = SalesChannel.objects.create(code="web", name="Web store", kind=SalesChannel.Kind.WEB)
    _, token = token_issue(name="bench storefront", channel=channel)
print(json.dumps({"token": token, "locations": len(locations), "skus": len(skus), "stock_levels": levels}))
'''

# --reuse: a new token for the bench channel of an existing bench database.
NEW_TOKEN = r'''
import django
django.setup()
from channels_sync.models import SalesChannel
from channels_sync.tokens import token_issue
print(token_issue(name="bench storefront", channel=SalesChannel.objects.get(code="web"))[1])
'''

# Queries and CPU of one order POST, in-process with Django's test client. Reads a list of
# {"warm"|"count"|"timing": body, "label": ...} on stdin.
COUNT_QUERIES = r'''
import json, os, statistics, sys, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

client = Client(HTTP_AUTHORIZATION="Token " + os.environ["BENCH_TOKEN"])
tag = os.environ["BENCH_RUN"]
counts, times, cpu, sample = {}, [], [], []
for index, item in enumerate(json.load(sys.stdin)):
    (kind, body), = ((k, v) for k, v in item.items() if k != "label")
    post = lambda: client.post("/api/v1/orders/", data=json.dumps(body), content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=f"count-queries-{tag}-{index}")
    if kind == "count":
        with CaptureQueriesContext(connection) as ctx:
            response = post()
        counts[item["label"]] = len(ctx.captured_queries)
        sample = [q["sql"][:160] for q in ctx.captured_queries]
    elif kind == "timing":  # timed without capturing queries (capturing costs time)
        started, started_cpu = time.perf_counter(), time.process_time()
        response = post()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    else:
        response = post()
    if response.status_code != 201:
        sys.exit(f"count-queries: POST answered {response.status_code}: {response.content[:500]!r}")
print(json.dumps({"counts": counts, "ms": statistics.median(times) * 1000, "cpu_ms": statistics.median(cpu) * 1000,
                  "sample": sample}))
'''

STREETS = [  # street, postal code, latitude, longitude
    ("Damrak", "1012LM", 52.3760, 4.8970), ("Prinsengracht", "1016HT", 52.3700, 4.8830),
    ("Keizersgracht", "1015CJ", 52.3740, 4.8870), ("Ferdinand Bolstraat", "1072LG", 52.3540, 4.8920),
    ("Javastraat", "1094HL", 52.3630, 4.9380), ("Kinkerstraat", "1053ED", 52.3670, 4.8660),
    ("Van Baerlestraat", "1071AX", 52.3570, 4.8790), ("Buikslotermeerplein", "1025EV", 52.4000, 4.9330),
    ("Overtoom", "1054HN", 52.3600, 4.8680), ("Utrechtsestraat", "1017VM", 52.3620, 4.8990),
    ("Haarlemmerdijk", "1013KB", 52.3820, 4.8830), ("Linnaeusstraat", "1093EK", 52.3590, 4.9260),
]
FIRST = ["Eva", "Daan", "Sanne", "Lucas", "Emma", "Sem", "Julia", "Finn", "Lotte", "Noah", "Tess", "Milan"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"]
LINE_COUNTS = [1, 2, 3, 4, 5]
LINE_WEIGHTS = [35, 25, 20, 12, 8]  # 2.3 lines an order on average


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], env: dict[str, str], *, stdin: str | None = None, what: str) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{what} failed (exit {result.returncode})")
    return result.stdout


# --- the payloads -------------------------------------------------------------------


class Orders:
    """Realistic order bodies: skewed SKU popularity (Zipf-like), 1-5 lines, a customer pool."""

    def __init__(self, n_skus: int, n_customers: int, skew: float, seed: int) -> None:
        self.codes = [f"{SKU_PREFIX}{i:05d}" for i in range(n_skus)]
        weights = [1 / (rank + 1) ** skew for rank in range(n_skus)]
        popularity = list(range(n_skus))
        random.Random(seed).shuffle(popularity)  # popular SKUs spread over the catalogue
        self.codes = [self.codes[i] for i in popularity]
        self.cum = list(itertools.accumulate(weights))
        self.prices = {code: f"{9.95 + (int(code[len(SKU_PREFIX):]) % 40) * 2.5:.2f}" for code in self.codes}
        self.customers = []
        for i in range(n_customers):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            customer = {"email": f"{first.lower()}.{i}@example.com", "name": f"{first} {last}"}
            if i % 3:  # two in three give a phone number too
                customer["phone"] = f"+31 6 {10_000_000 + i:08d}"
            self.customers.append(customer)

    def body(self, rng: random.Random, external_id: str) -> dict:
        n_lines = rng.choices(LINE_COUNTS, LINE_WEIGHTS)[0]
        skus: list[str] = []
        while len(skus) < n_lines:
            code = self.codes[bisect.bisect_left(self.cum, rng.random() * self.cum[-1])]
            if code not in skus:
                skus.append(code)
        customer = rng.choice(self.customers)
        street, postal_code, lat, lon = rng.choice(STREETS)
        return {
            "external_id": external_id,
            "customer": customer,
            "delivery_method": "ship",
            "address": {"name": customer["name"], "line1": f"{street} {rng.randint(1, 300)}", "city": "Amsterdam",
                        "postal_code": postal_code, "country": "NL",
                        "latitude": round(lat + rng.uniform(-0.004, 0.004), 5),
                        "longitude": round(lon + rng.uniform(-0.006, 0.006), 5)},
            "lines": [{"sku": code, "quantity": rng.choice((1, 1, 1, 2)), "unit_price": self.prices[code]}
                      for code in skus],
        }


# --- the load generator -------------------------------------------------------------


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds, 201s in the window
    trace: list[tuple[int, int, float, float]] = field(default_factory=list)  # client, lines, sent, seconds
    ok: int = 0
    errors: int = 0
    warmup_errors: int = 0
    shown: int = 0
    reconnects: int = 0
    per_client: dict[int, int] = field(default_factory=dict)  # 201s in the window, by client
    per_second: dict[int, int] = field(default_factory=dict)  # 201s in the window, by second of it


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    close = lines[0].startswith(b"HTTP/1.0")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    if length is None:
        return status, True, await reader.read()
    return status, close, await reader.readexactly(length)


async def _client(index: int, args, orders: Orders, token: str, port: int, run_id: str,
                  window: tuple[float, float], results: Results) -> None:
    rng = random.Random(f"{run_id}-{index}")
    start, end = window
    head = (f"POST /api/v1/orders/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n")
    interval = args.clients / args.rate if args.rate else 0.0
    scheduled = time.perf_counter() + (index * interval / args.clients if interval else 0.0)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    for seq in itertools.count():
        if interval:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        if time.perf_counter() >= end:
            break
        key = f"{run_id}-{index}-{seq}"
        order = orders.body(rng, f"bench-{key}")
        body = json.dumps(order, separators=(",", ":")).encode()
        request = (f"{head}Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        sent = scheduled if interval else time.perf_counter()
        status, payload = 0, b""
        for attempt in range(2):  # a keep-alive connection the server closed meanwhile: resend once
            reused = writer is not None
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                writer.write(request)
                status, close, payload = await asyncio.wait_for(_read_response(reader), args.timeout)
            except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
                if writer is not None:
                    writer.close()
                reader = writer = None
                if reused and attempt == 0 and not isinstance(exc, TimeoutError):
                    results.reconnects += 1
                    continue
                status, payload = 0, repr(exc).encode()
                break
            if close:
                writer.close()
                reader = writer = None
            break
        done = time.perf_counter()
        scheduled += interval
        if done < start or done > end:
            if status != 201 and done < start:
                results.warmup_errors += 1
            continue
        if status == 201:
            results.ok += 1
            results.latencies.append(done - sent)
            results.trace.append((index, len(order["lines"]), sent - start, done - sent))
            results.per_client[index] = results.per_client.get(index, 0) + 1
            second = int(done - start)
            results.per_second[second] = results.per_second.get(second, 0) + 1
            continue
        results.errors += 1
        if results.shown < 5:
            results.shown += 1
            sys.stderr.write(f"error: HTTP {status}: {payload[:600].decode('utf-8', 'replace')}\n")
    if writer is not None:
        writer.close()


async def load(args, orders: Orders, token: str, port: int, on_window_start, on_window_end,
               on_second=None, on_mid_warmup=None) -> Results:
    """Run the clients; call the hooks (each in a thread, so the clients never wait on
    them): `on_mid_warmup` half way through the warm-up, the window's start and end, and
    `on_second` about once a second within it."""
    results = Results()
    run_id = secrets.token_hex(4)
    now = time.perf_counter()
    window = (now + args.warmup, now + args.warmup + args.duration)

    async def markers() -> None:
        if on_mid_warmup is not None:
            await asyncio.sleep(max(0.0, window[0] - args.warmup / 2 - time.perf_counter()))
            await asyncio.to_thread(on_mid_warmup)
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        await asyncio.to_thread(on_window_start)
        while on_second is not None and time.perf_counter() < window[1] - 1:
            await asyncio.sleep(1)
            await asyncio.to_thread(on_second)
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        await asyncio.to_thread(on_window_end)

    await asyncio.gather(markers(), *(_client(i, args, orders, token, port, run_id, window, results)
                                      for i in range(args.clients)))
    return results


# --- CPU accounting from /proc ------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, comm, utime + stime ticks)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        found[int(entry)] = (int(fields[1]), comm, int(fields[11]) + int(fields[12]))
    return found


def _tree(root: int, procs: dict[int, tuple[int, str, int]]) -> set[int]:
    pids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in procs.items() if ppid == parent and pid not in pids]
        pids.update(children)
        frontier.extend(children)
    return pids


def _serves(pid: int, database: str) -> bool:
    """A Postgres process of the bench: a backend on its database, or a background process
    (WAL writer, checkpointer...); backends of other databases belong to someone else."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if "(" not in title and "[local]" not in title:  # no client address: a background process
        return True
    return f" {database} " in title


def cpu_snapshot(roots: dict[str, int], database: str) -> tuple[float, dict[str, int]]:
    procs = _processes()
    ticks: dict[str, int] = {}
    claimed: set[int] = set()
    for name, root in roots.items():  # the load generator is this process alone, not its children
        pids = ({root} if name == "loadgen" else _tree(root, procs)) & procs.keys()
        ticks[name] = sum(procs[pid][2] for pid in pids)
        claimed |= pids
    ticks["postgres"] = sum(t for pid, (_, comm, t) in procs.items()
                            if comm.startswith("postgres") and _serves(pid, database))
    ticks["redis"] = sum(t for pid, (_, comm, t) in procs.items() if comm.startswith("redis-server"))
    with open("/proc/stat") as stat:
        cpu = [int(v) for v in stat.readline().split()[1:]]
    # /proc/stat's cpu line: user nice system idle iowait irq softirq steal ...; steal is time the
    # hypervisor gave another guest while this VM wanted to run: not busy here, but not idle either
    ticks["_steal"] = cpu[7] if len(cpu) > 7 else 0
    ticks["_busy"] = sum(cpu[:7]) - cpu[3] - cpu[4]  # user, nice, system, irq, softirq
    return time.monotonic(), ticks


def cpu_report(before: tuple[float, dict[str, int]], after: tuple[float, dict[str, int]],
               orders: int, routed: int) -> list[str]:
    seconds = after[0] - before[0]
    used = {name: (after[1][name] - before[1][name]) / TICK for name in before[1]}  # CPU seconds
    busy, steal = used.pop("_busy"), used.pop("_steal")
    other = max(0.0, busy - sum(used.values()))
    parts = [f"{name} {cpu / seconds * 100:.0f}%" for name, cpu in used.items()]
    lines = [f"cpu (% of one core, {os.cpu_count()} cores): " + ", ".join(parts)
             + f", other processes {other / seconds * 100:.0f}%; machine busy {busy / seconds * 100:.0f}%"
             f" of {(os.cpu_count() or 1) * 100}%, and {steal / seconds * 100:.0f}% stolen by the hypervisor"]
    if orders:
        cores = os.cpu_count() or 1
        web_ms, pg_ms = used["gunicorn"] / orders * 1000, used["postgres"] / orders * 1000
        per = f"cpu per order placed: gunicorn {web_ms:.1f} ms, postgres {pg_ms:.1f} ms (web and worker queries)"
        budget = f"cpu budget: {cores} idle cores at these costs place <= {cores * 1000 / (web_ms + pg_ms):.0f} " \
                 "orders/s with the worker idle"
        if routed and used.get("celery"):
            worker_ms = used["celery"] / routed * 1000
            per += f"; celery worker {worker_ms:.1f} ms per order routed"
            budget += f", ~{cores * 1000 / (web_ms + pg_ms + worker_ms):.0f} orders/s with routing keeping up"
        lines += [per, budget + f" (250 orders/s needs <= {cores * 1000 / 250:.0f} ms per order in all)"]
    return lines


# --- py-spy summary -----------------------------------------------------------------

PROFILE_MARKS = [  # (label, substring of a py-spy frame), in request order
    ("auth: token lookup", "authenticate (channels_sync/auth.py"),
    ("view: SalesChannel get", "post (channels_sync/api/views.py:34)"),
    ("inbound_arrive: archive + lookups (own commit)", "inbound_arrive (channels_sync/capture.py"),
    ("OrderIn validation", "is_valid (rest_framework/serializers.py"),
    ("idempotency lookup", "idempotency_lookup ("),
    ("order_place", "order_place (orders/services/placement.py"),
    ("  _validate (SKUs)", "_validate (orders/services/placement.py"),
    ("  customer_match", "customer_match (orders/customers.py"),
    ("  _create_order", "_create_order (orders/services/placement.py"),
    ("  lines re-read", "order_place (orders/services/placement.py:75)"),
    ("  plan_for", "plan_for (orders/services/allocation.py"),
    ("  reserve_plan", "reserve_plan (orders/services/allocation.py"),
    ("  events.record x2", "record (orders/events.py"),
    ("render OrderOut (re-fetch + serialize)", "<lambda> (channels_sync/api/views.py"),
    ("idempotency record + inbound mark", "_settle (channels_sync/capture.py"),
    ("inbound_mark", "inbound_mark ("),
    ("commit", ";commit (django/db/backends/base/base.py"),
    ("on_commit: Celery publish", "_enqueue_dispatch_many (omnichannel/outbox.py"),
    ("worker: order_route", "order_route (orders/services/routing.py"),
    ("worker: outbox dispatch", ";dispatch (omnichannel/outbox.py"),
    ("worker: notification", "customer_notification_task (orders/tasks.py"),
    ("worker: webhook", "webhook_task (channels_sync/tasks.py"),
    ("psycopg: waiting for Postgres", "wait (psycopg/connection.py"),
    ("psycopg: sending queries", "_execute_send (psycopg/client_cursor.py"),
    ("Django SQL compiler", "as_sql (django/db/models/sql/compiler.py"),
]


def profile_summary(path: Path) -> list[str]:
    """Inclusive share of the samples under each marked frame."""
    total = 0
    counts = dict.fromkeys([label for label, _ in PROFILE_MARKS], 0)
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for label, frame in PROFILE_MARKS:
            if frame in stack:
                counts[label] += int(n)
    if not total:
        return ["no samples"]
    return [f"{n / total * 100:5.1f}%  {label}" for label, n in counts.items() if n] + [f"({total} samples)"]


# --- the database and the services --------------------------------------------------


def wal_counts(url: str) -> tuple[int, int, int] | None:
    """The server's WAL flushes to disk, WAL bytes and full-page images written so far
    (pg_stat_wal, Postgres 14+), or None."""
    try:
        ((syncs, size, images),) = db_query(url, "SELECT wal_sync, wal_bytes, wal_fpi FROM pg_stat_wal")
    except Exception:  # noqa: BLE001 - an older server: the line is left out
        return None
    return int(syncs), int(size), int(images)


def db_query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def analyze(url: str) -> None:
    """Planner statistics as autovacuum would keep them, for every table that has rows. An
    empty table is left unanalyzed: analyzed empty, Postgres plans it as empty however much
    it grows (seq scans); unanalyzed, it estimates from the table's size as it grows, and
    once analyzed with rows it scales those statistics with the size."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")]
        for name in tables:
            table = psycopg.sql.Identifier(name)
            if conn.execute(psycopg.sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table)).fetchone()[0]:  # type: ignore[index]
                conn.execute(psycopg.sql.SQL("ANALYZE {}").format(table))


def database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def reset_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def progress(db_url: str, redis_url: str) -> dict:
    statuses = dict(db_query(db_url, "SELECT status, count(*) FROM orders_order GROUP BY status"))
    pending, events = db_query(db_url, "SELECT count(*) FILTER (WHERE dispatched_at IS NULL), count(*) "
                                       "FROM kernel_outboxevent")[0]
    decisions = db_query(db_url, "SELECT count(*) FROM orders_routingdecision")[0][0]
    last_event = db_query(db_url, "SELECT coalesce(max(id), 0) FROM kernel_outboxevent")[0][0]
    client = redis.Redis.from_url(redis_url)
    queued = {queue: client.llen(queue) for queue in QUEUES}
    client.close()
    return {"statuses": statuses, "events": events, "pending": pending, "decisions": decisions, "queued": queued,
            "last_event": last_event}


def routing_batches(db_url: str, after_event: int) -> str:
    """How many orders the worker routed together: the `order.placed` events one dispatch
    marked (they share its `dispatched_at`), among those written after `after_event`."""
    sizes = sorted(n for (n,) in db_query(
        db_url, "SELECT count(*) FROM kernel_outboxevent WHERE id > %s AND type = 'order.placed' "
                "AND dispatched_at IS NOT NULL GROUP BY dispatched_at", (after_event,)))
    if not sizes:
        return "no routing batches"
    return (f"{len(sizes)} routing batches, orders per batch: mean {sum(sizes) / len(sizes):.1f}, "
            f"median {sizes[len(sizes) // 2]}, max {sizes[-1]}")


def start(cmd: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen:
    with open(logfile, "ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc: subprocess.Popen | None, name: str, how: int = signal.SIGTERM) -> None:
    """Stop a process we started (its master stops its children); if it lingers or we are
    interrupted meanwhile, kill its process group (only our process's own group)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, how)
        proc.wait(timeout=15)
        return
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop in 15 s: killing it and its children")
    except KeyboardInterrupt:
        log(f"interrupted while stopping {name}: killing it and its children")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def log_errors(path: Path) -> tuple[int, list[str]]:
    """ERROR records in a worker's log, and its distinct exception lines."""
    if not path.exists():
        return 0, []
    count, seen = 0, []
    for line in path.read_text(errors="replace").splitlines():
        if "ERROR/" in line:
            count += 1
        elif re.match(r"^[\w.]+(Error|Exception|Exit)(: |$)", line) and line not in seen:
            seen.append(line)
    return count, seen


def wait_healthy(port: int, proc: subprocess.Popen, logfile: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.stderr.write(logfile.read_text()[-4000:])
            raise SystemExit("gunicorn exited before answering /health/")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /health/ in time")


def app_env(database_url: str, redis_url: str, secret: str) -> dict[str, str]:
    """The environment the app runs in under the bench: production settings (DEBUG off),
    the bench's database and Redis, mail sent nowhere, the broker taken from REDIS_URL."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "omnichannel.settings", "DEBUG": "0", "SECRET_KEY": secret,
           "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING",
           "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "PYTHONUNBUFFERED": "1",
           # This checkout's code, even where the virtualenv's editable install points at another
           # (a `git worktree` of an earlier commit run with the main checkout's .venv).
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def machine_line() -> str:
    """The CPU and a fixed pure-Python workload timed on it (best of 5), so that runs on
    different VMs can be compared: the figures below scale roughly with it."""
    model = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.process_time() - started)
    return (f"machine: {model}, {os.cpu_count()} cores; reference loop (1M Python additions, best of 5) "
            f"{best * 1000:.0f} ms of CPU; {interpreter()}")


def interpreter() -> str:
    """Which CPython runs the servers, and whether its core is a shared libpython (as in a
    pyenv build without PGO, about 12% more instructions an order than Debian's statically
    linked PGO/LTO build: docs/benchmarks.md)."""
    shared = ""
    with contextlib.suppress(OSError):
        shared = next((line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
                       if "/libpython3" in line), "")
    base = getattr(sys, "_base_executable", sys.executable)
    return (f"Python {platform.python_version()} from {base}, "
            + (f"core in a shared {Path(shared).name}" if shared else "core linked into the executable"))


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20, help="measured seconds (default 20)")
    parser.add_argument("--trace", metavar="FILE",
                        help="write each answered order of the window as CSV: client, lines, sent (s), latency (ms)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring (default 5)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--rate", type=float, default=0,
                        help="open loop: total orders/s on a fixed schedule (default 0: closed loop, flat out)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as an error")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"],
                        help="gunicorn worker class (default gthread: keep-alive connections; sync workers "
                             "close every connection and spend ~1.5 ms more CPU per order here)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--worker-connections", type=int, default=0,
                        help="gthread: keep-alive connections one worker takes at most (default: clients / "
                             "workers, rounded up, so the clients spread evenly: a gthread worker accepts "
                             "greedily, and one measured 24 of 32 connections, whose clients then waited "
                             "three times as long as the others)")
    parser.add_argument("--celery-concurrency", type=int, default=1,
                        help="Celery worker threads or processes (default 1; 0 runs no worker). On 2 cores "
                             "the worker's work is CPU under one GIL: 4 threads pumped the outbox in "
                             "batches half as large (10 orders, not 21) and spent 1.7 ms an order against "
                             "1.3 (docs/benchmarks.md)")
    parser.add_argument("--celery-pool", default="threads", choices=["prefork", "threads", "solo"],
                        help="Celery execution pool (default threads: 22%% less CPU per order than prefork "
                             "here, no parent-to-child hand-off)")
    parser.add_argument("--skus", type=int, default=2000, help="SKUs in the seeded catalogue (default 2000)")
    parser.add_argument("--customers", type=int, default=5000, help="customer pool (default 5000)")
    parser.add_argument("--skew", type=float, default=0.8,
                        help="Zipf exponent of SKU popularity (default 0.8; 0 is uniform)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
                        help="Postgres server URL, without a database name")
    parser.add_argument("--db", default="omnichannel_bench", help="database to drop and recreate")
    parser.add_argument("--db-options", default="", metavar="QUERY",
                        help="query string added to the app's DATABASE_URL (Django OPTIONS), e.g. "
                             "'server_side_binding=false' to run without prepared statements (on by default)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
                        help="Redis URL with the db to flush and use (default db 3)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the bench database of the last run instead of recreating and seeding it "
                             "(quicker repeated runs, same --skus; tables grow from run to run)")
    parser.add_argument("--verbose", action="store_true", help="print the SQL of one order POST")
    parser.add_argument("--py-spy", metavar="PATH", default="",
                        help="py-spy binary: profile gunicorn and the worker during the measured window")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.duration <= 0 or args.clients <= 0:
        raise SystemExit("--duration and --clients must be positive")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*bench[a-z0-9_]*", args.db):
        raise SystemExit("--db must be a plain name containing 'bench': the bench drops and recreates it")
    db_url = f"{args.pg.rstrip('/')}/{args.db}"
    app_db_url = f"{db_url}?{args.db_options}" if args.db_options else db_url
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^*-_=+") for _ in range(50))
    env = app_env(app_db_url, args.redis, secret)
    logdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started with SIGINT ignored
    try:
        log(machine_line())
        started = time.monotonic()
        redis.Redis.from_url(args.redis).flushdb()
        reuse = args.reuse and database_exists(f"{args.pg.rstrip('/')}/postgres", args.db)
        if not reuse:
            reset_database(f"{args.pg.rstrip('/')}/postgres", args.db)
        run([PYTHON, "manage.py", "migrate", "--noinput"], env, what="migrate")
        if reuse:
            token = run([PYTHON, "-c", NEW_TOKEN], env, what="token").strip().splitlines()[-1]
            count = db_query(db_url, "SELECT count(*) FROM orders_order")[0][0]
            log(f"setup: database {args.db} reused ({count} orders already in it); redis {args.redis} flushed; "
                f"logs in {logdir}")
        else:
            seeded = json.loads(run([PYTHON, "-c", SEED], {**env, "BENCH_SKUS": str(args.skus)},
                                    what="seed").strip().splitlines()[-1])
            token = seeded.pop("token")
            log(f"setup: database {args.db} recreated and seeded ({seeded['locations']} locations, "
                f"{seeded['skus']} SKUs, {seeded['stock_levels']} stock levels) in "
                f"{time.monotonic() - started:.0f} s; redis {args.redis} flushed; logs in {logdir}")
        analyze(db_url)
        if db_query(db_url, "SHOW autovacuum")[0][0] != "on":
            log("note: autovacuum is off on this server: the bench runs ANALYZE itself, after setup and "
                "again half way through the warm-up")

        if args.celery_concurrency > 0:
            worker = start([str(BIN / "celery"), "-A", "omnichannel.celery", "worker", "-Q", ",".join(QUEUES),
                            f"--pool={args.celery_pool}", f"--concurrency={args.celery_concurrency}",
                            "--loglevel=WARNING"],
                           env, logdir / "celery.log")
        port = free_port()
        gunicorn = [str(BIN / "gunicorn"), "omnichannel.wsgi:application", "--bind", f"127.0.0.1:{port}",
                    "--workers", str(args.workers), "--worker-class", args.worker_class,
                    "--error-logfile", str(logdir / "gunicorn.log"), "--log-level", "warning",
                    "--timeout", "60", "--graceful-timeout", "5"]
        if args.worker_class == "gthread":
            per_worker = args.worker_connections or -(-args.clients // args.workers)
            gunicorn += ["--threads", str(args.threads), "--worker-connections", str(per_worker)]
        web = start(gunicorn, env, logdir / "gunicorn.out")
        wait_healthy(port, web, logdir / "gunicorn.log")
        shape = f"gunicorn {args.worker_class} -w {args.workers}" + (
            f" --threads {args.threads} --worker-connections {per_worker}" if args.worker_class == "gthread" else "")
        log(f"servers: {shape} on 127.0.0.1:{port}; celery worker --pool={args.celery_pool} "
            f"--concurrency={args.celery_concurrency}"
            if worker else f"servers: {shape} on 127.0.0.1:{port}; no celery worker")

        orders = Orders(args.skus, args.customers, args.skew, seed=11)
        rng, tag = random.Random(3), secrets.token_hex(4)
        known = orders.customers[0]
        fresh = {"email": f"new-{tag}@example.com", "name": "New Customer",
                 "phone": f"+31 6 2{int(tag, 16) % 10_000_000:07d}"}
        bodies: list[dict] = [{"warm": orders.body(rng, f"count-queries-{tag}-warm-{i}")} for i in range(6)]
        bodies.append({"warm": {**orders.body(rng, f"count-queries-{tag}-known"), "customer": known}})
        bodies += [{"label": f"{n} line{'s' if n > 1 else ''}",
                    "count": {**orders.body(rng, f"count-queries-{tag}-{n}-lines"), "customer": known,
                              "lines": [{"sku": code, "quantity": 1} for code in orders.codes[100 + n * 5:][:n]]}}
                   for n in LINE_COUNTS]
        bodies.append({"label": "new customer", "count": {**orders.body(rng, f"count-queries-{tag}-new"),
                                                          "customer": fresh, "lines": bodies[-3]["count"]["lines"]}})
        bodies += [{"timing": orders.body(rng, f"count-queries-{tag}-timing-{i}")} for i in range(40)]
        counted = json.loads(run([PYTHON, "-c", COUNT_QUERIES],
                                 {**env, "ALLOWED_HOSTS": "testserver", "BENCH_TOKEN": token, "BENCH_RUN": tag},
                                 stdin=json.dumps(bodies), what="count queries").strip().splitlines()[-1])
        counts = counted["counts"]
        new_extra = counts.pop("new customer") - counts["3 lines"]
        log("queries per order POST (known customer): " + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f"; a new customer adds {new_extra}")
        log(f"one POST at a time in-process (Django test client, median of 40): {counted['ms']:.1f} ms wall, "
            f"{counted['cpu_ms']:.1f} ms CPU")
        if args.verbose:
            for sql in counted["sample"]:
                log(f"  sql: {sql}")

        roots = {"gunicorn": web.pid, "celery": worker.pid if worker else -1, "loadgen": os.getpid()}
        marks: dict[str, object] = {}

        profilers: list[tuple[str, subprocess.Popen, Path]] = []

        def window_start() -> None:
            marks["cpu0"] = cpu_snapshot(roots, args.db)
            marks["routed0"] = db_query(db_url, "SELECT count(*) FROM orders_routingdecision")[0][0]
            marks["wal0"] = wal_counts(db_url)
            if args.py_spy:
                for name, pid in (("gunicorn", web.pid), ("celery", worker.pid if worker else None)):
                    if pid is not None:
                        out = logdir / f"{name}.collapsed"
                        profilers.append((name, subprocess.Popen(
                            [args.py_spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "100",
                             "--duration", str(int(args.duration)), "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))

        def window_end() -> None:
            marks["cpu1"] = cpu_snapshot(roots, args.db)
            marks["routed1"] = db_query(db_url, "SELECT count(*) FROM orders_routingdecision")[0][0]
            marks["wal1"] = wal_counts(db_url)

        before = progress(db_url, args.redis)
        mode = f"open loop at {args.rate:g} orders/s" if args.rate else "closed loop"
        log(f"load: {args.clients} clients, {mode}, {args.warmup:g} s warm-up, {args.duration:g} s measured")
        waits: list[tuple[int, int, int]] = []  # (active, waiting on a lock, waiting on anything) backends
        watcher = psycopg.connect(db_url, autocommit=True)

        def sample_backends() -> None:
            waits.append(watcher.execute(
                "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                "count(*) FILTER (WHERE state = 'active' AND wait_event IS NOT NULL) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (args.db,)).fetchone())  # type: ignore[arg-type]

        try:
            results = asyncio.run(load(args, orders, token, port, window_start, window_end, sample_backends,
                                       on_mid_warmup=lambda: analyze(db_url)))  # the warm-up's rows
        finally:
            watcher.close()
        after = progress(db_url, args.redis)

        if "cpu0" in marks and "cpu1" in marks:
            routed_in_window = int(marks["routed1"]) - int(marks["routed0"])  # type: ignore[call-overload]
            for line in cpu_report(marks["cpu0"], marks["cpu1"], results.ok, routed_in_window):  # type: ignore[arg-type]
                log(line)
            if marks.get("wal0") is not None and marks.get("wal1") is not None and results.ok:
                syncs, size, images = (b - a for a, b in zip(marks["wal0"], marks["wal1"], strict=True))  # type: ignore[call-overload]
                log(f"postgres: {syncs} WAL flushes to disk during the window, {syncs / results.ok:.2f} per order placed "
                    "(the whole server: commits wait for them); WAL "
                    f"{size / results.ok / 1024:.1f} kB per order, {images / results.ok:.2f} full-page images (a page's "
                    "first change after a checkpoint: 8 kB each, before compression)")
        for name, profiler, out in profilers:
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                profiler.kill()
                profiler.wait()
            if out.exists():
                log(f"py-spy {name} (sampling slows it; stacks in {out}):")
                for line in profile_summary(out):
                    log(f"  {line}")
        placed = sum(after["statuses"].values()) - sum(before["statuses"].values())
        routed = after["decisions"] - before["decisions"]
        statuses = ", ".join(f"{status} {n}" for status, n in sorted(after["statuses"].items()))
        log(f"orders: {placed} created during the run (warm-up included); by status now: {statuses}")
        written = after["events"] - before["events"]
        dispatched = (after["events"] - after["pending"]) - (before["events"] - before["pending"])
        log(f"worker: {routed} orders routed and {dispatched} outbox events dispatched during the run "
            f"({written} events written); backlog now: {after['statuses'].get('placed', 0)} orders placed "
            f"not routed, {after['pending']} events not dispatched, queued tasks "
            + ", ".join(f"{q} {n}" for q, n in after["queued"].items()))
        log(f"worker: {routing_batches(db_url, before['last_event'])} (warm-up included)")
        if waits:
            n = len(waits)
            log(f"postgres backends of {args.db}, sampled {n} times: {sum(w[0] for w in waits) / n:.1f} active, "
                f"{sum(w[1] for w in waits) / n:.1f} waiting on a lock, {sum(w[2] for w in waits) / n:.1f} "
                "active but waiting (lock, I/O, WAL...) on average")
        errors_logged, exceptions = log_errors(logdir / "celery.log")
        if errors_logged:
            log(f"worker: {errors_logged} ERROR records in {logdir / 'celery.log'}: " + " | ".join(exceptions[:3]))
        if results.reconnects:
            log(f"client: {results.reconnects} keep-alive connections closed by the server and retried")
        if results.warmup_errors:
            log(f"warm-up: {results.warmup_errors} errors (not counted)")
        latencies = sorted(results.latencies)
        if latencies:
            served = sorted(results.per_client.get(i, 0) for i in range(args.clients))
            log("latency ms: " + ", ".join(f"p{p} {percentile(latencies, p) * 1000:.0f}" for p in (10, 50, 90, 95, 99))
                + f", max {latencies[-1] * 1000:.0f}; orders per client: fewest {served[0]}, median "
                f"{served[len(served) // 2]}, most {served[-1]}")
            seconds = [results.per_second.get(i, 0) for i in range(int(args.duration))]
            log("orders answered in each second of the window: " + " ".join(map(str, seconds)))
        summary = (f"orders_per_s={results.ok / args.duration:.1f} p50_ms={percentile(latencies, 50) * 1000:.1f} "
                   f"p99_ms={percentile(latencies, 99) * 1000:.1f} errors={results.errors}")
        stop(web, "gunicorn")  # before the summary, so that it stays the last line
        stop(worker, "celery worker", signal.SIGQUIT)
        if args.trace:
            with open(args.trace, "w") as out:
                out.write("client,lines,sent_s,latency_ms\n")
                out.writelines(f"{c},{n},{t:.4f},{lat * 1000:.2f}\n" for c, n, t, lat in results.trace)
        print(summary, flush=True)
        return 0 if results.errors == 0 else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        try:
            stop(web, "gunicorn")
        finally:
            stop(worker, "celery worker", signal.SIGQUIT)  # cold shutdown: unacked tasks go back to the queue


if __name__ == "__main__":
    sys.exit(main())
