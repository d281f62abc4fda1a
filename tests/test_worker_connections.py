"""A Celery worker keeps its database connection between tasks, as the web does between
requests (CONN_MAX_AGE); Celery's Django fixup would otherwise open a new Postgres
backend for every task."""

from __future__ import annotations

import pytest
from django.db import connection

from omnichannel.tasks import outbox_sweep
from tests.conftest import requires_worker, wait_for


def _backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}


def _succeeded(log) -> int:
    return sum(1 for line in log.read_text().splitlines() if "outbox_sweep[" in line and " succeeded in " in line)


@requires_worker
@pytest.mark.worker
@pytest.mark.worker_env(DB_CONN_MAX_AGE="600")
def test_a_worker_keeps_its_database_connection_between_tasks(celery_worker):
    before = _backends()
    seen: list[set[int]] = []
    for n in range(1, 9):  # one task at a time
        outbox_sweep.delay()
        wait_for(lambda n=n: _succeeded(celery_worker["log"]) >= n, what=f"task {n} to succeed")
        seen.append(_backends() - before)

    # After every task the worker's connection is still there, idle, waiting for the next.
    assert all(seen), seen
    # Eight tasks, at most one connection per worker thread (4): not one per task.
    assert len(set().union(*seen)) <= 4, seen


@requires_worker
@pytest.mark.worker
def test_a_worker_with_conn_max_age_0_closes_its_connection_after_each_task(celery_worker):
    before = _backends()
    outbox_sweep.delay()
    wait_for(lambda: _succeeded(celery_worker["log"]) >= 1, what="the task to succeed")
    wait_for(lambda: not (_backends() - before), what="the worker's connection to close")
