"""Availability read latency: 20-SKU carts over 200 locations and 10,000 SKUs, on Postgres.

    .venv/bin/python bench/availability.py                  # 2,000 carts per measure
    .venv/bin/python bench/availability.py --carts 5000 --store-density 0.3
    .venv/bin/python bench/availability.py --reuse          # keep the seeded database from the last run
    .venv/bin/python bench/availability.py --layout sku     # stock rows clustered by SKU (see --help)

Drops and recreates its own database (`omnichannel_bench_avail`), migrates it in a
subprocess, then seeds with `bulk_create` straight into the tables for speed (this is a
bench: the stock levels get no ledger movements, so `check_inventory` would not pass on it):
200 locations around the Netherlands (10 warehouses, 190 stores), 10,000 SKUs, every SKU
at every warehouse, and each store carrying the 500 "core" SKUs plus a random
`--store-density` share of the rest (about 1 million stock levels at the default 0.5), with
random reserved, safety stock, damaged and quality-control units. A "web" channel is fed
by 120 of the locations with a buffer of 2 units and 10 %.

It then times, over random carts, each measure separately:
- the selector `inventory.selectors.availability_for_cart` for a cart of 20 core SKUs (each
  held at all 200 locations: 4,000 stock rows, the worst case) and for 20 random SKUs;
- the whole read path without HTTP (`channels_sync.api.availability.availability_render`:
  SKU codes in, the channel's buffered view out);
- the HTTP endpoint `GET /api/v1/availability/?sku=...` through Django's test client, with
  the channel's token and with an ops token (authentication, DRF and JSON included), with
  the per-location lists and without them (`locations=false`, a cart check);
- the same GET against gunicorn (one sync worker, `omnichannel.wsgi`, as deployed), one request at
  a time over HTTP (the sync worker closes each connection, so each request connects anew): the
  latency a storefront sees, without the test client.

Last line: `p50_ms=<n> p99_ms=<n>` of the selector on the worst-case (core) cart.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
N_LOCATIONS = 200
N_WAREHOUSES = 10
N_SKUS = 10_000
N_CORE = 500
CART = 20
SKU_PREFIX = "AV-"


def log(message: str) -> None:
    print(message, flush=True)


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
    os.environ["DEBUG"] = "false"  # no query log
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- seeding (bulk_create, no ledger: a bench) -----------------------------------------------


def seed_catalog_and_network() -> tuple[list[int], list[int]]:
    from inventory.models import Location, Product, Sku

    rng = random.Random(11)
    locations = []
    for n in range(N_LOCATIONS):
        warehouse = n < N_WAREHOUSES
        locations.append(Location(
            code=f"{'AW' if warehouse else 'AS'}{n:03d}", name=f"{'Warehouse' if warehouse else 'Store'} {n}",
            kind="warehouse" if warehouse else "store", address_line1=f"Street {n}", city="Somewhere",
            postal_code=f"{1000 + n} AB", latitude=rng.uniform(51.0, 53.4), longitude=rng.uniform(3.6, 7.1),
            can_ship=True, can_pickup=not warehouse, can_same_day=not warehouse and n % 3 == 0,
            accepts_returns=not warehouse))
    Location.objects.bulk_create(locations, batch_size=1000)
    products = Product.objects.bulk_create([Product(code=f"AVP{n:05d}", name=f"Product {n}") for n in range(N_SKUS // 10)])
    Sku.objects.bulk_create([Sku(product=products[n // 10], code=f"{SKU_PREFIX}{n:05d}", barcode=f"99{n:011d}",
                                 name=f"SKU {n}") for n in range(N_SKUS)], batch_size=5000)
    location_ids = list(Location.objects.order_by("code").values_list("pk", flat=True))
    sku_ids = list(Sku.objects.order_by("code").values_list("pk", flat=True))
    return location_ids, sku_ids


def seed_stock(location_ids: list[int], sku_ids: list[int], store_density: float) -> int:
    from inventory.models import StockLevel

    rng = random.Random(12)
    created = 0
    batch: list[StockLevel] = []

    def level(sku_id: int, location_id: int) -> StockLevel:
        on_hand = rng.randint(0, 60)
        reserved = rng.randint(0, on_hand // 4)
        damaged = 1 if on_hand - reserved > 5 and rng.random() < 0.05 else 0
        return StockLevel(sku_id=sku_id, location_id=location_id, on_hand=on_hand, reserved=reserved,
                          safety_stock=rng.choice([0, 0, 0, 1, 2]), damaged=damaged,
                          reorder_point=rng.choice([0, 2, 5]), reorder_target=rng.choice([0, 10, 20]))

    for index, location_id in enumerate(location_ids):
        warehouse = index < N_WAREHOUSES
        for position, sku_id in enumerate(sku_ids):
            if warehouse or position < N_CORE or rng.random() < store_density:
                batch.append(level(sku_id, location_id))
        if len(batch) >= 20_000:
            StockLevel.objects.bulk_create(batch, batch_size=5000)
            created += len(batch)
            batch = []
    StockLevel.objects.bulk_create(batch, batch_size=5000)
    return created + len(batch)


def seed_channel_and_tokens(location_ids: list[int]) -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    from channels_sync.models import SalesChannel
    from channels_sync.tokens import token_issue
    from omnichannel.models import StaffMember

    rng = random.Random(13)
    web = SalesChannel.objects.create(code="web", name="Web", kind="web", buffer_units=2, buffer_percent=10)
    web.feeding_locations.set(rng.sample(location_ids, 120))
    SalesChannel.objects.create(code="app", name="App", kind="app", buffer_units=1)
    user = get_user_model().objects.create(username="bench-ops")
    StaffMember.objects.create(user=user, role="ops")
    return token_issue(name="web", channel=web)[1], token_issue(name="ops", user=user)[1]


def analyze(db_url: str, layout: str) -> None:
    """`--layout sku` rewrites the table in (sku, location) order first (CLUSTER): a SKU's rows
    then share a few pages instead of one page per location."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        if layout == "sku":
            conn.execute("CLUSTER inventory_stocklevel USING one_stock_level_per_sku_location")
        conn.execute("VACUUM ANALYZE")


# --- timing ---------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def timed(label: str, carts: list[list], call: Callable[[list], object], warmup: int = 50) -> tuple[float, float]:
    for cart in carts[:warmup]:
        call(cart)
    samples = []
    for cart in carts:
        began = time.perf_counter()
        call(cart)
        samples.append((time.perf_counter() - began) * 1000)
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    log(f"  {label:<58} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  (n={len(samples)})")
    return p50, p99


def count_queries(call: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def measure(carts: int, web_token: str, ops_token: str) -> tuple[float, float]:
    from rest_framework.test import APIClient

    from channels_sync.api.availability import availability_render
    from inventory.models import Sku
    from inventory.selectors import availability_for_cart
    from omnichannel.permissions import Principal

    rng = random.Random(14)
    ids = list(Sku.objects.order_by("code").values_list("pk", "code"))
    core = [[ids[i] for i in rng.sample(range(N_CORE), CART)] for _ in range(carts)]
    anywhere = [[ids[i] for i in rng.sample(range(N_SKUS), CART)] for _ in range(carts)]
    web = Principal(channel_id=_channel_id("web"), channel_code="web")
    ops = Principal(role="ops")
    rows = sum(len(v) for v in availability_for_cart([pk for pk, _ in core[0]]).stock.values())
    log(f"a core cart reads {rows} stock rows (20 SKUs x {rows // CART} locations); "
        f"selector queries: {count_queries(lambda: availability_for_cart([pk for pk, _ in core[0]]))}")
    log(f"timings over {carts} carts each:")
    worst = timed("selector availability_for_cart, 20 core SKUs", core,
                  lambda cart: availability_for_cart([pk for pk, _ in cart]))
    timed("selector availability_for_cart, 20 random SKUs", anywhere,
          lambda cart: availability_for_cart([pk for pk, _ in cart]))
    timed("read path (codes -> web's buffered view), core SKUs", core,
          lambda cart: availability_render([(code, 1) for _, code in cart], "sku[{index}]", web, None))
    timed("read path (codes -> network + 2 channel totals), core SKUs", core,
          lambda cart: availability_render([(code, 1) for _, code in cart], "sku[{index}]", ops, None))
    for label, token in (("web token", web_token), ("ops token", ops_token)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

        def get(cart: list, client: APIClient = client, **extra: str) -> None:
            response = client.get("/api/v1/availability/", {"sku": [code for _, code in cart], **extra})
            assert response.status_code == 200, response.content[:300]

        log(f"  HTTP queries per request ({label}): {count_queries(lambda: get(core[0]))}")  # noqa: B023
        timed(f"HTTP GET /api/v1/availability/ ({label}), core SKUs", core, get)
        timed(f"HTTP GET /api/v1/availability/ ({label}), random SKUs", anywhere, get)
        timed(f"HTTP GET ... ({label}), core SKUs, locations=false", core,
              lambda cart, get=get: get(cart, locations="false"))
    return worst


def measure_live_server(db_url: str, carts: int, web_token: str, ops_token: str) -> None:
    """The same GET against gunicorn (1 sync worker, as deployed: omnichannel.wsgi), one request
    at a time (the sync worker closes each connection; http.client reconnects): what a
    storefront waits for."""
    import http.client
    import socket
    import subprocess
    from urllib.parse import urlencode

    from inventory.models import Sku

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "false", "DB_CONN_MAX_AGE": "600",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = subprocess.Popen([str(Path(PYTHON).parent / "gunicorn"), "omnichannel.wsgi:application", "--workers", "1",
                               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    codes = list(Sku.objects.order_by("code").values_list("code", flat=True))
    try:
        conn = None
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", f"/api/v1/availability/?sku={codes[0]}",
                             headers={"Authorization": f"Token {web_token}"})
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        assert conn is not None
        rng = random.Random(15)
        core = [rng.sample(codes[:N_CORE], CART) for _ in range(carts)]
        for label, token in (("web token", web_token), ("ops token", ops_token)):
            headers = {"Authorization": f"Token {token}"}

            def get(cart: list, headers: dict = headers, **extra: str) -> None:
                conn.request("GET", "/api/v1/availability/?" + urlencode({"sku": cart, **extra}, doseq=True),
                             headers=headers)
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, body[:300]

            timed(f"gunicorn GET /api/v1/availability/ ({label}), core SKUs", core, get)
            timed(f"gunicorn GET ... ({label}), core SKUs, locations=false", core,
                  lambda cart, get=get: get(cart, locations="false"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def _channel_id(code: str) -> int:
    from channels_sync.models import SalesChannel

    return SalesChannel.objects.get(code=code).pk


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--carts", type=int, default=2000)
    parser.add_argument("--store-density", type=float, default=0.5,
                        help="share of the non-core SKUs each store carries")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL",
                                                              "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--database", default="omnichannel_bench_avail")
    parser.add_argument("--reuse", action="store_true", help="skip the reset and seeding (database from a last run)")
    parser.add_argument("--layout", choices=["location", "sku"], default="location",
                        help="location: rows in the order they were created, store by store (the default, and the "
                             "usual order: stock arrives per location), so a SKU's 200 rows sit on ~200 pages; "
                             "sku: CLUSTERed by (sku, location) after seeding")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    if not args.reuse:
        log(f"database {args.database}: drop, create, migrate")
        reset_database(args.admin_url, args.database)
        migrate(db_url)
    django_setup(db_url)
    if args.reuse:
        from channels_sync.models import ApiToken
        from channels_sync.tokens import token_issue

        ApiToken.objects.all().delete()
        from django.contrib.auth import get_user_model

        from channels_sync.models import SalesChannel

        web_token = token_issue(name="web", channel=SalesChannel.objects.get(code="web"))[1]
        ops_token = token_issue(name="ops", user=get_user_model().objects.get(username="bench-ops"))[1]
    else:
        began = time.perf_counter()
        location_ids, sku_ids = seed_catalog_and_network()
        levels = seed_stock(location_ids, sku_ids, args.store_density)
        web_token, ops_token = seed_channel_and_tokens(location_ids)
        analyze(db_url, args.layout)
        log(f"seeded {len(location_ids)} locations, {len(sku_ids):,} SKUs, {levels:,} stock levels "
            f"in {time.perf_counter() - began:.0f} s (bulk_create, no ledger; table layout: {args.layout})")
    from omnichannel.runtime import tune_gc

    tune_gc()  # as omnichannel/wsgi.py does once the app is loaded
    log(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    p50, p99 = measure(args.carts, web_token, ops_token)
    measure_live_server(db_url, args.carts, web_token, ops_token)
    print(f"p50_ms={p50:.2f} p99_ms={p99:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
