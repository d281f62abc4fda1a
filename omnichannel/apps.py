from django.apps import AppConfig

# psycopg turns a statement's %s placeholders into $n once per statement text and caches the
# result, but only for texts up to 4,096 characters and 50 parameters (psycopg/_queries.py, so
# that ORMs' ever-varying bulk INSERTs do not fill the cache). Ours are few in shape but longer:
# the one INSERT that writes an order's reservations, ledger rows, allocations, timeline and
# events is ~2,000 characters with ~120 parameters, and converting it afresh cost ~0.2 ms of
# every order POST. The cache stays at psycopg's 128 entries (least recently used out).
# tests/test_kernel_inserts.py checks the knobs are still there after a psycopg upgrade.
PSYCOPG_CACHED_STATEMENT_LENGTH = 32_768
PSYCOPG_CACHED_STATEMENT_PARAMS = 1_000


def cache_long_statements() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite-only install
        return
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, PSYCOPG_CACHED_STATEMENT_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, PSYCOPG_CACHED_STATEMENT_PARAMS)


class KernelConfig(AppConfig):
    name = "omnichannel"
    label = "kernel"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        # Bind @shared_task to our Celery app in every process (web, worker, shell).
        from omnichannel.celery import app  # noqa: F401

        cache_long_statements()
