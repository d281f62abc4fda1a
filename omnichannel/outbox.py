"""The transactional outbox.

`publish()` appends an event in the caller's transaction and schedules its dispatch
for after commit. Apps register handlers by event type in `AppConfig.ready()`; a
handler receives the event and must be idempotent (delivery is at least once).
Higher apps register for lower apps' events, so no lower app imports a higher one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from omnichannel import rawsql
from omnichannel.inserts import insert_all
from omnichannel.models import HandlerRun, OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def register(event_type: str, handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, [])) + list(_handlers.get("*", []))


def publish(event_type: str, aggregate_type: str, aggregate_id: Any, payload: dict[str, Any]) -> OutboxEvent:
    """Append an event. Caller holds a transaction; dispatch is enqueued on commit."""
    return publish_many([(event_type, aggregate_type, aggregate_id, payload)])[0]


def publish_many(events: list[tuple[str, str, Any, dict[str, Any]]]) -> list[OutboxEvent]:
    """Append several events (type, aggregate type, aggregate id, payload) in one INSERT;
    one dispatch task for all of them is enqueued on commit. Caller holds a transaction.

    An event no handler listens to is stored already dispatched (it stays in the table as a
    record) and costs no task."""
    now = timezone.now()
    rows = insert_all([
        OutboxEvent(type=t, aggregate_type=a, aggregate_id=str(i), payload=p,
                    dispatched_at=None if handlers_for(t) else now)
        for t, a, i, p in events])
    ids = [row.pk for row in rows if row.dispatched_at is None]
    if ids:
        transaction.on_commit(lambda: _enqueue_dispatch_many(ids))
    return rows


_consumed_queues: frozenset[str] = frozenset()  # the queues this process's worker consumes, if it is one


def worker_queues_set(queues) -> None:
    """Called once a worker has chosen its queues (`celeryd_after_setup`)."""
    global _consumed_queues
    _consumed_queues = frozenset(queues)


def runs_here(task) -> bool:
    """True inside a worker task when this worker consumes `task`'s queue anyway: a handler
    may then do the task's work at once instead of a broker round trip (publish, deliver,
    ack) back to the same worker. A worker for other queues, a web process, or an eager
    test run enqueues as usual, so each queue can still be scaled on its own."""
    if not _consumed_queues or not _in_worker():
        return False
    queue = task.app.amqp.router.route({}, task.name)["queue"]
    return getattr(queue, "name", queue) in _consumed_queues


def _in_worker() -> bool:
    """True inside a Celery task run by a worker (not eagerly, not called directly)."""
    from celery import current_task

    task = current_task._get_current_object() if current_task else None
    return task is not None and not task.request.is_eager and not task.request.called_directly


def _dispatch_here(event_ids: list[int]) -> None:
    """Events published by a task are dispatched by that worker right after its commit: the
    worker is already running, and a message per event costs more than the handlers. A
    failure is left to the sweep, like a lost message."""
    try:
        dispatch_many(event_ids)
    except Exception:
        logger.exception("inline dispatch of events %s failed; the sweep will retry", event_ids)


def _enqueue_dispatch_many(event_ids: list[int]) -> None:
    from omnichannel.tasks import outbox_dispatch_many

    if _in_worker():
        _dispatch_here(event_ids)
        return
    try:
        outbox_dispatch_many.delay(event_ids)
    except Exception:  # broker down: the sweep will pick them up; the events are safe in the table
        logger.exception("could not enqueue dispatch of events %s; the sweep will retry", event_ids)


def dispatch(event_id: int) -> None:
    """Run every handler of one event; mark it dispatched only when all succeeded."""
    dispatch_many([event_id])


def dispatch_many(event_ids: list[int]) -> None:
    """`dispatch` for several events, in id order: one read for all of them, and one write
    for all that every handler took (an event with a failed handler gets its own)."""
    if not event_ids:
        return
    # Written out (omnichannel.rawsql): every order's events pass here.
    marks = ", ".join(["%s"] * len(event_ids))
    events = rawsql.instances(
        OutboxEvent, f"WHERE t.{rawsql.column(OutboxEvent, 'id')} IN ({marks}) AND "
        f"t.{rawsql.column(OutboxEvent, 'dispatched_at')} IS NULL ORDER BY t.{rawsql.column(OutboxEvent, 'id')}",
        list(event_ids))
    done: list[int] = []
    for event in events:
        errors = []
        for handler in handlers_for(event.type):
            try:
                handler(event)
            except Exception as exc:
                logger.exception("handler %s failed for event %s", handler, event.pk)
                errors.append(f"{getattr(handler, '__qualname__', handler)}: {exc!r}")
        if errors:
            OutboxEvent.objects.filter(pk=event.pk).update(
                attempts=F("attempts") + 1, last_error="\n".join(errors)[:4000])
        else:
            done.append(event.pk)
    if done:
        rawsql.update(OutboxEvent, done, {"dispatched_at": timezone.now()}, add={"attempts": 1})


def claim_once(event: OutboxEvent, handler_name: str) -> bool:
    """True the first time `handler_name` claims `event`; caller holds a transaction so the
    claim and the effect commit together."""
    try:
        with transaction.atomic():
            HandlerRun.objects.create(event=event, handler=handler_name)
    except IntegrityError:
        return False
    return True
