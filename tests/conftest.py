"""Shared fixtures: a small network, channels with tokens, staff, the carrier, an API client.

Celery runs eagerly in the test process unless a test asks for `celery_worker`, which
starts a real worker process on Redis against the test database (Postgres only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from channels_sync.tokens import token_issue
from inventory.services import stock_receive
from omnichannel import localcache, outbox
from omnichannel.celery import app as celery_app
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs Postgres (set DATABASE_URL=postgres://...): row locks and real concurrency",
)
requires_worker = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="needs Postgres and Redis (DATABASE_URL, REDIS_URL) to run a real Celery worker",
)


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """Each test starts without the per-process copies of locations and channels
    (omnichannel.localcache): a rolled-back test sends no signal to clear them."""
    localcache.clear_all()


@pytest.fixture(autouse=True)
def eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def carrier(db):
    return factories.carrier_with_services()


@pytest.fixture
def network(db, carrier):
    """A warehouse north-west of Amsterdam, two stores in the centre, one store far away."""
    warehouse = factories.LocationFactory(code="WH1", name="Westpoort DC", latitude=52.408, longitude=4.780)
    centre = factories.StoreFactory(code="ST1", name="Kalverstraat", latitude=52.3702, longitude=4.8910,
                                    can_same_day=True)
    south = factories.StoreFactory(code="ST2", name="De Pijp", latitude=52.3530, longitude=4.8950)
    far = factories.StoreFactory(code="ST9", name="Maastricht", latitude=50.8514, longitude=5.6910,
                                 can_pickup=False)
    shoe = factories.SkuFactory(code="RUN-BLK-42", barcode="8712345000017", name="Runner One black 42")
    shirt = factories.SkuFactory(code="TEE-WHT-M", barcode="8712345000024", name="Tee white M", weight_grams=200)
    for location, sku, qty in [(warehouse, shoe, 20), (warehouse, shirt, 50), (centre, shoe, 3),
                               (south, shoe, 2), (south, shirt, 5), (far, shirt, 10)]:
        stock_receive(sku=sku, location=location, quantity=qty, actor="test")
    return {"WH1": warehouse, "ST1": centre, "ST2": south, "ST9": far, "shoe": shoe, "shirt": shirt}


@pytest.fixture
def web_channel(db):
    return factories.ChannelFactory(code="web", name="Web store")


@pytest.fixture
def marketplace(db):
    return factories.ChannelFactory(code="amazon", name="Amazon", kind="marketplace",
                                    short_stock_policy="backorder")


def client_with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def channel_client(web_channel):
    return client_with_token(token_issue(name="web", channel=web_channel)[1])


@pytest.fixture
def marketplace_client(marketplace):
    return client_with_token(token_issue(name="amazon", channel=marketplace)[1])


@pytest.fixture
def ops_client(db):
    staff = factories.StaffFactory(user__username="ops", role="ops", location=None)
    return client_with_token(token_issue(name="ops", user=staff.user)[1])


@pytest.fixture
def picker_client_for(db):
    def make(location):
        staff = factories.StaffFactory(user__username=f"picker-{location.code.lower()}", role="picker",
                                       location=location)
        return client_with_token(token_issue(name=staff.user.username, user=staff.user)[1])
    return make


@pytest.fixture
def celery_worker(transactional_db, tmp_path, request):
    """A real Celery worker process consuming from Redis, on the test database.
    `@pytest.mark.worker_env(NAME="value")` adds to its environment."""
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    mail_dir = tmp_path / "mail"
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_TASK_ALWAYS_EAGER": "0", "DB_CONN_MAX_AGE": "0",
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
    if (extra := request.node.get_closest_marker("worker_env")) is not None:
        env.update(extra.kwargs)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "omnichannel.celery", "worker", "--loglevel=INFO", "--pool=threads",
         "--concurrency=4", "-Q", "routing,notifications,channels,default", "--purge", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    celery_app.conf.task_always_eager = False
    outbox._awake_until = 0.0  # a pump's promise this process learnt belonged to another test's worker
    deadline = time.time() + 30
    while time.time() < deadline and "ready" not in (tmp_path / "worker.log").read_text():
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if "ready" not in (tmp_path / "worker.log").read_text():
        process.kill()
        pytest.fail("Celery worker did not start:\n" + (tmp_path / "worker.log").read_text()[-3000:])
    yield {"process": process, "mail_dir": mail_dir, "log": tmp_path / "worker.log"}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    connection.close()


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def run_at_once(target, count: int) -> None:
    """Run `target()` in `count` threads released together (a barrier), each closing its
    own database connection, and wait for all of them."""
    import threading

    barrier = threading.Barrier(count)

    def run() -> None:
        try:
            barrier.wait()
            target()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def wait_until_another_waits_on_a_lock(timeout: float = 10.0) -> bool:
    """Postgres: poll (from this connection, even inside its transaction) until another
    session of this database waits on a lock; False if none did within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees its first look at it
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND pid <> pg_backend_pid() AND datname = current_database()")
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def run_jobs_together(jobs: list) -> list[object]:
    """Run each job in its own thread, connection and transaction, all released at once by a
    barrier; what each returned, or the exception it raised, in the jobs' order. Fails if
    one hangs (a lock wait)."""
    import threading

    from django.db import transaction

    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001 - the caller asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a job hung (a lock wait?)"
    return results
