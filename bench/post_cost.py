"""The cost of one order POST in-process, as CPU time and as instructions counted by valgrind.

    .venv/bin/python bench/ingest.py --duration 5     # once: seeds the bench database
    .venv/bin/python bench/post_cost.py               # CPU ms per POST (noisy on a shared VM)
    .venv/bin/python bench/post_cost.py --callgrind   # instructions per POST (repeatable)
    .venv/bin/python bench/post_cost.py --profile     # where the CPU goes (cProfile)
    .venv/bin/python bench/post_cost.py --worker      # the worker's part instead: routing and
                                                      # notifying the orders posted (any of the above)

Posts realistic orders (the same generator as `bench/ingest.py`, a fixed seed) against the
database that `bench/ingest.py` seeded (`omnichannel_bench`; Redis db 3), after a warm-up, as a
gunicorn worker serves them: each request's WSGI environ is handed to `omnichannel.wsgi`'s
application (which tunes the collector as it does under gunicorn), not through Django's test
client, whose per-request signal receivers a server does not pay. A draining outbox pump's
promise to look again is held in Redis while POSTs are measured, as under load, where a web
process asks Redis a few times a second rather than once per order (`OUTBOX_PUMP_AWAKE_MS`);
no pump runs here to keep it. On a VM whose neighbours come and go, CPU time moves by 10-40% from run
to run; valgrind's count of instructions does not (two runs of one commit: 14.90 and 14.92 M),
so it is the figure to compare commits by. Under `--callgrind` the script runs itself under
valgrind with instrumentation switched on only around the measured POSTs (`callgrind_control`),
so start-up and the warm-up are not counted. The database grows by the orders posted; run the
commits being compared one after the other on it, each twice.

With `--worker` the POSTs are not measured: what is measured is the worker's part for the
orders posted, done in-process as a Celery worker on every queue does it (the outbox pump
claims the events in batches; routing and notifications run inline, in batches). Each run
also prints the CPU the Postgres backend spent per order (read from /proc; the server must run
on this machine), measured part only.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _env(args) -> None:
    import ingest

    env = ingest.app_env(f"{args.pg.rstrip('/')}/{args.db}", args.redis, "post-cost-" + "k" * 48)
    os.environ.update({**env, "ALLOWED_HOSTS": "testserver"})  # RequestFactory's host
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)


def _callgrind(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True,
                   capture_output=True)


def _backend_cpu():
    """A function that reads the CPU seconds this process's Postgres backend has used (from
    /proc: the server runs here), or 0.0 where it cannot."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return read


def _drain() -> int:
    """Do the worker's part for every event waiting, as a Celery worker consuming every queue
    does it: the outbox pump claims them in batches, and the handlers route and notify inline
    (`outbox.runs_here`). Returns how many orders it routed."""
    from omnichannel import outbox
    from orders.models import RoutingDecision

    before = RoutingDecision.objects.count()
    in_worker, queues = outbox._in_worker, outbox._consumed_queues
    outbox._in_worker = lambda: True
    outbox.worker_queues_set(["routing", "notifications", "channels", "default"])
    try:
        while outbox.pump(0):
            pass
    finally:
        outbox._in_worker, outbox._consumed_queues = in_worker, queues
    return RoutingDecision.objects.count() - before


@contextlib.contextmanager
def _pump_promise():
    """Hold a draining pump's flag and its promise to look again while the POSTs run: their
    commits then ask Redis once, as a web process under load asks it a few times a second, not
    once per order. Both keys go at the end, so nothing waits on a pump that is not there."""
    from omnichannel import outbox

    client = outbox._pump_redis()
    keys = [outbox._pump_flag(0), outbox._awake_key()] if client is not None and outbox.pump_awake_s() else []
    for name in keys:
        client.set(name, "1", ex=600)
    try:
        yield
    finally:
        if keys:
            client.delete(*keys)


def measure(args) -> None:
    _env(args)
    import django

    django.setup()
    import ingest
    from django.test import RequestFactory

    from channels_sync.models import SalesChannel
    from channels_sync.tokens import token_issue
    from omnichannel.wsgi import application

    try:
        channel = SalesChannel.objects.get(code="web")
    except Exception as error:  # noqa: BLE001 - any failure here means the same thing
        raise SystemExit(f"no seeded bench database ({error}); run bench/ingest.py once first") from None
    token = token_issue(name="post cost", channel=channel)[1]
    orders = ingest.Orders(args.skus, 5000, 0.8, seed=7)
    rng = random.Random(args.seed)
    factory = RequestFactory(HTTP_AUTHORIZATION="Token " + token)

    def post() -> None:
        key = uuid.uuid4().hex
        environ = factory.post("/api/v1/orders/", data=json.dumps(orders.body(rng, key)),
                               content_type="application/json", HTTP_IDEMPOTENCY_KEY=key).environ
        answered: list[str] = []
        body = b"".join(application(environ, lambda status, headers, exc_info=None: answered.append(status)))
        if not answered[0].startswith("201"):
            raise SystemExit(f"POST answered {answered[0]}: {body[:300]!r}")

    backend = _backend_cpu()
    with _pump_promise():
        _measure(args, post, backend)


def _measure(args, post, backend) -> None:
    if args.worker:
        _drain()  # what earlier runs left, unmeasured
    for _ in range(args.warmup):
        post()
    if args.worker:
        _drain()  # the warm-up orders: the worker's path warmed up too
        for _ in range(args.posts):
            post()
    part = "order routed and notified by the worker" if args.worker else "POST"
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if args.under_callgrind:
        _callgrind(True)
    if profiler:
        profiler.enable()
    started, started_cpu, started_pg = time.perf_counter(), time.process_time(), backend()
    if args.worker:
        drained = _drain()
        if drained < args.posts:
            raise SystemExit(f"the worker's part routed {drained} orders, not {args.posts}")
    else:
        for _ in range(args.posts):
            post()
    wall, cpu, pg = time.perf_counter() - started, time.process_time() - started_cpu, backend() - started_pg
    if profiler:
        profiler.disable()
    if args.under_callgrind:
        _callgrind(False)
        return  # the count is printed by the parent, from valgrind's summary
    import ingest

    print(ingest.interpreter())
    print(f"{args.posts} orders after {args.warmup} warm-up: {wall / args.posts * 1000:.2f} ms wall, "
          f"{cpu / args.posts * 1000:.2f} ms CPU each{' (under cProfile)' if profiler else ''}, "
          f"Postgres {pg / args.posts * 1000:.2f} ms CPU each; one {part}")
    if profiler:
        stats = pstats.Stats(profiler)
        if args.profile_out:
            stats.dump_stats(args.profile_out)
        stats.sort_stats("cumulative").print_stats(r"/work/|omnichannel|orders|inventory|channels_sync", 40)
        stats.sort_stats("tottime").print_stats(25)
    print(f"postgres_cpu_ms_per_{'order' if args.worker else 'post'}={pg / args.posts * 1000:.2f}")
    print(f"cpu_ms_per_{'order' if args.worker else 'post'}={cpu / args.posts * 1000:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100, help="measured POSTs (default 100)")
    parser.add_argument("--warmup", type=int, default=30, help="POSTs before measuring (default 30)")
    parser.add_argument("--seed", type=int, default=12345, help="order generator seed (default 12345)")
    parser.add_argument("--skus", type=int, default=2000, help="SKUs the bench database was seeded with")
    parser.add_argument("--callgrind", action="store_true", help="count instructions under valgrind")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured part")
    parser.add_argument("--profile-out", metavar="FILE", help="with --profile, also save the stats (pstats)")
    parser.add_argument("--worker", action="store_true",
                        help="measure the worker's part for the orders posted, not the POSTs")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default="omnichannel_bench")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.callgrind:
        measure(args)
        return 0
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("--callgrind needs valgrind (apt-get install valgrind)")
    own = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--callgrind", "--profile")]
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--under-callgrind", *own],
        env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-2000:])
        raise SystemExit("the run under valgrind failed")
    per_post = int(found.group(1)) / args.posts
    what = "order" if args.worker else "post"
    print(f"{args.posts} {what}s after {args.warmup} warm-up, under valgrind: {per_post / 1e6:.2f} M instructions each")
    print(f"instructions_per_{what}={per_post / 1e6:.2f}M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
