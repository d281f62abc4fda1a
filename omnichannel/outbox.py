"""The transactional outbox.

`publish()` appends an event in the caller's transaction and schedules its dispatch
for after commit. Apps register handlers by event type in `AppConfig.ready()`; a
handler receives the event and must be idempotent (delivery is at least once).
Higher apps register for lower apps' events, so no lower app imports a higher one.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import transaction
from django.utils import timezone

from omnichannel import rawsql
from omnichannel.inserts import insert_all
from omnichannel.instances import new
from omnichannel.models import OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
H = TypeVar("H", bound=Handler)
_handlers: dict[str, list[Handler]] = defaultdict(list)


def register(event_type: str, handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, [])) + list(_handlers.get("*", []))


def publish(event_type: str, aggregate_type: str, aggregate_id: Any, payload: dict[str, Any]) -> OutboxEvent:
    """Append an event. Caller holds a transaction; it is handed on for dispatch on commit."""
    return publish_many([(event_type, aggregate_type, aggregate_id, payload)])[0]


def publish_many(events: list[tuple[str, str, Any, dict[str, Any]]]) -> list[OutboxEvent]:
    """Append several events (type, aggregate type, aggregate id, payload) in one INSERT;
    on commit they are handed on for dispatch (`_enqueue_dispatch_many`: in a worker, at
    once; with a Redis broker, by waking the pump; else one dispatch task for all of them).
    Caller holds a transaction.

    An event no handler listens to is stored already dispatched (it stays in the table as a
    record) and costs no task."""
    rows = insert_all(unsaved(events))
    published(rows)
    return rows


def unsaved(events: list[tuple[str, str, Any, dict[str, Any]]]) -> list[OutboxEvent]:
    """`publish_many` in two steps, for a caller that inserts the rows with others of its
    own (`inserts.insert_all_together`): the rows to insert, then `published(rows)`."""
    now = timezone.now()
    return [new(OutboxEvent, type=t, aggregate_type=a, aggregate_id=str(i), payload=p,
                        dispatched_at=None if handlers_for(t) else now) for t, a, i, p in events]


def published(rows: list[OutboxEvent]) -> None:
    """The rows of `unsaved` are inserted: hand them on for dispatch once the caller commits."""
    ids = [row.pk for row in rows if row.dispatched_at is None]
    if ids:
        transaction.on_commit(lambda: _enqueue_dispatch_many(ids))


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
    worker is already running, and a message per event costs more than the handlers. They
    are claimed first, so a pump running meanwhile does not take them too. A failure is
    left to the sweep, like a lost message."""
    try:
        _dispatch_events(claim(ids=event_ids, limit=len(event_ids)), counted=True)
    except Exception:
        logger.exception("inline dispatch of events %s failed; the sweep will retry", event_ids)


def _enqueue_dispatch_many(event_ids: list[int]) -> None:
    from omnichannel.tasks import outbox_dispatch_many

    if _in_worker():
        _dispatch_here(event_ids)
        return
    try:
        if not _wake_pump_after_commit():
            outbox_dispatch_many.delay(event_ids)
    except Exception:  # broker down: the sweep will pick them up; the events are safe in the table
        logger.exception("could not enqueue dispatch of events %s; the sweep will retry", event_ids)


# --- The pump: one task drains the outbox in batches, woken through a Redis flag ---------
#
# With a Redis broker, a committed event does not cost a Celery message of its own: the
# publisher sets a flag (SET NX) and sends `outbox_pump` only if the flag was not set. While
# the flag is set, a pump is queued or draining, and commits send nothing. The pump clears
# the flag only when it finds nothing left, and then looks once more: an event committed
# before the clear is in that last look, and one committed after it sets the flag again and
# wakes a new pump. Pumps claim events in batches (FOR UPDATE SKIP LOCKED, counted in
# `attempts`), so two never take the same event; a claimed event a crashed pump left behind
# is the sweep's, like a lost message. Under load, one pump drains batch after batch.
#
# After a batch that was not full, a pump waits a moment (`OUTBOX_PUMP_LINGER_MS`) before it
# claims again, so that the next batch holds more than the few events committed while it
# worked: a batch's routing reads and writes once for all its orders, and at a few orders a
# batch those fixed statements cost more than the orders themselves.
#
# A draining pump also promises to look again a while ahead (`OUTBOX_PUMP_AWAKE_MS`): with
# each batch it sets a key that lives that long, and it does not leave before it has claimed
# once more after the key expired. A committing process reads the key's time to live with
# its flag (one round trip) and, until that time has passed, wakes nothing: the pump's next
# look is bound to see its commit. Under load a web process talks to Redis about four times a
# second instead of once per order; nothing changes when the promise has lapsed. Times are
# carried as durations, each process on its own monotonic clock, counted so that a promise
# is never taken as longer than the pump keeps it: the pump counts from when Redis answered
# its SET, a publisher from before it asked for the time to live.

PUMP_BATCH = 50  # events: about 25 orders (an order.placed and an order.confirmed each)
PUMP_SLOTS = 4  # pumps at most at once: a full batch (a backlog) wakes a helper in the next slot
PUMP_FLAG_TTL_S = 10  # a pump message lost with its flag set delays events by this much at most
_pump_client: Any = None
_sleep = time.sleep  # a pump's wait (tests replace it)
_clock = time.monotonic  # the clock its promise is counted on (tests replace it)


def _pump_redis():
    """A Redis client on the broker, or None when the broker is not Redis or tasks run eagerly."""
    global _pump_client
    from omnichannel.celery import app

    url = app.conf.broker_url or ""
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _pump_client is None:
        import redis

        _pump_client = redis.Redis.from_url(url)
    return _pump_client


def _pump_flag(slot: int = 0) -> str:
    from django.db import connection

    return f"omnichannel:outbox:pump:{connection.settings_dict['NAME']}:{slot}"


_awake_until = 0.0  # monotonic: until then a pump is bound to claim after this process's commits


def _awake_key() -> str:
    return _pump_flag(0) + ":awake"


def pump_awake_s() -> float:
    return _seconds("OUTBOX_PUMP_AWAKE_MS")


def _wake_pump_after_commit() -> bool:
    """`_wake_pump()` for events this process has just committed, skipped while a draining
    pump's promise to look again holds (see above). False: no Redis broker here."""
    global _awake_until
    client = _pump_redis()
    if client is None:
        return False
    if _clock() < _awake_until:
        return True
    if not pump_awake_s():
        return _wake_pump()
    asked_at = _clock()
    pipe = client.pipeline(transaction=False)
    pipe.set(_pump_flag(0), "1", nx=True, ex=PUMP_FLAG_TTL_S)
    pipe.pttl(_awake_key())
    woke, ttl_ms = pipe.execute()
    if woke:
        _send_pump(client, 0)
    elif ttl_ms > 0:
        _awake_until = asked_at + ttl_ms / 1000
    return True


def _send_pump(client, slot: int) -> None:
    from omnichannel.tasks import outbox_pump

    try:
        outbox_pump.delay(slot)
    except Exception:
        client.delete(_pump_flag(slot))  # the next event tries again
        raise


def _wake_pump(slot: int = 0) -> bool:
    """Make sure a pump will read the events just committed (slot 0: what commits wake; a
    higher slot: a helper for a backlog). False: no Redis broker here (the caller sends a
    dispatch task for its own events instead)."""
    client = _pump_redis()
    if client is None:
        return False
    if client.set(_pump_flag(slot), "1", nx=True, ex=PUMP_FLAG_TTL_S):
        _send_pump(client, slot)
    return True


def pump_linger_s() -> float:
    return _seconds("OUTBOX_PUMP_LINGER_MS")


def _seconds(setting_ms: str) -> float:
    """An OMNICHANNEL setting in milliseconds, in seconds (never negative; absent: 0)."""
    from django.conf import settings

    return max(0.0, float(cast(float, settings.OMNICHANNEL.get(setting_ms, 0)))) / 1000


def pump(slot: int = 0, *, batch: int = PUMP_BATCH, max_batches: int = 400, linger_s: float | None = None) -> int:
    """Dispatch every event waiting, oldest first, a claimed batch at a time, until none is
    left. A full batch means a backlog: the next slot's pump is woken to help. After a batch
    that was not full, a pump woken through Redis waits `linger_s` (default: the setting)
    before it claims again, so that events gather into fuller batches. Returns how many
    events this pump took."""
    client = _pump_redis()
    flag = _pump_flag(slot)
    linger = (pump_linger_s() if linger_s is None else linger_s) if client is not None else 0.0
    # Slot 0's promise to look again (see above): taken over from the pump before, if any.
    awake = pump_awake_s() if client is not None and slot == 0 else 0.0
    look_after = _promise_held(client) if awake else 0.0
    taken = 0
    last = batch
    for _ in range(max_batches):
        if 0 < last < batch and linger:
            _sleep(linger)
        claimed_at = _clock()
        events = claim(limit=batch)
        if not events and claimed_at < look_after:
            # Promised a look after `look_after`: commits meanwhile sent no wake-up.
            _sleep(max(0.0, min(linger or AWAKE_POLL_S, look_after - _clock())))
            last = 0
            continue
        if not events:
            if client is None:
                return taken
            client.delete(flag)  # from here on, a commit wakes a new pump...
            if slot:
                return taken  # (a helper: slot 0's pump or the next commit covers the rest)
            events = claim(limit=batch)  # ...and what committed before is seen here
            if not events:
                return taken
            if not client.set(flag, "1", nx=True, ex=PUMP_FLAG_TTL_S):
                _dispatch_events(events, counted=True)  # a new pump was woken meanwhile: it goes on
                return taken + len(events)
        elif client is not None:
            if awake:
                look_after = _promise(client, flag, awake)
            else:
                client.expire(flag, PUMP_FLAG_TTL_S)  # still draining: commits need not wake another
            if len(events) == batch and slot + 1 < PUMP_SLOTS:
                _wake_pump(slot + 1)
        _dispatch_events(events, counted=True)
        taken += len(events)
        last = len(events)
    if client is not None:
        client.delete(flag)
    _wake_pump(slot)  # a long drain hands over to a fresh task
    return taken


AWAKE_POLL_S = 0.025  # how often a pump keeping its promise looks, when it does not linger


def _promise(client, flag: str, awake: float) -> float:
    """Slot 0's pump, draining: keep its flag and promise to look again `awake` seconds
    ahead. Returns the monotonic time after which it must claim once more (counted from
    Redis's answer, so never before the key expires)."""
    pipe = client.pipeline(transaction=False)
    pipe.expire(flag, PUMP_FLAG_TTL_S)  # still draining: commits need not wake another
    pipe.set(_awake_key(), "1", px=max(1, int(awake * 1000)))
    pipe.execute()
    return _clock() + awake


def _promise_held(client) -> float:
    """A promise a pump before this one made and may not have kept (it handed over after
    its last batch): this pump keeps it. The monotonic time to look after, or 0."""
    ttl_ms = client.pttl(_awake_key())
    return _clock() + ttl_ms / 1000 if ttl_ms > 0 else 0.0


def claim(*, ids: list[int] | None = None, limit: int = PUMP_BATCH) -> list[OutboxEvent]:
    """Take up to `limit` undispatched events nobody has tried yet (of `ids`, if given),
    oldest first: one statement that counts the attempt and returns the rows. Events
    another transaction is claiming are skipped, not waited for."""
    from django.db import connection

    col = {name: rawsql.column(OutboxEvent, name) for name in ("id", "dispatched_at", "attempts", "created_at")}
    where = f"{col['dispatched_at']} IS NULL AND {col['attempts']} = 0"
    params: list[Any] = []
    if ids is not None:
        if not ids:
            return []
        where += f" AND {rawsql.in_list(col['id'], ids, params)}"
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    table = rawsql.table(OutboxEvent)
    sql = (f"UPDATE {table} SET {col['attempts']} = {col['attempts']} + 1 WHERE {col['id']} IN "  # noqa: S608
           f"(SELECT {col['id']} FROM {table} WHERE {where} ORDER BY {col['created_at']}, {col['id']} "
           f"LIMIT %s{lock}) RETURNING {rawsql.columns(OutboxEvent, table)}")
    rows = rawsql.fetch(sql, [*params, limit])
    return sorted((rawsql.instance(OutboxEvent, row) for row in rows), key=lambda event: event.pk)


def dispatch(event_id: int) -> None:
    """Run every handler of one event; mark it dispatched only when all succeeded."""
    dispatch_many([event_id])


def dispatch_many(event_ids: list[int]) -> None:
    """`dispatch` for several events, in id order: one read for all of them, and one write
    for all that every handler took (an event with a failed handler gets its own)."""
    if not event_ids:
        return
    # Written out (omnichannel.rawsql): every order's events pass here.
    params: list[int] = []
    pk = "t." + rawsql.column(OutboxEvent, "id")
    events = rawsql.instances(
        OutboxEvent, f"WHERE {rawsql.in_list(pk, list(event_ids), params)} AND "
        f"t.{rawsql.column(OutboxEvent, 'dispatched_at')} IS NULL ORDER BY {pk}", params)
    _dispatch_events(events, counted=False)


def batched(many: Callable[[list[OutboxEvent]], dict[int, str] | None]) -> Callable[[H], H]:
    """Give a handler a form that takes all its events of one dispatch at once (a pump's
    batch): `many(events)` does what calling the handler for each would, in fewer
    statements, and returns the errors of the events it failed ({event id: error}), if any.
    Dispatch calls it once per batch, before the handlers that take one event. If it
    raises, each of its events counts that handler as failed."""
    def attach(handler: H) -> H:
        handler.many = many  # type: ignore[attr-defined]
        return handler
    return attach


def _dispatch_events(events: list[OutboxEvent], *, counted: bool) -> None:
    """Run the handlers of each event (a handler with a batch form gets all its events at
    once); mark those every handler took dispatched, in one write. `counted`: the attempt
    was counted when the events were claimed."""
    step = {} if counted else {"attempts": 1}
    done: list[int] = []
    failures: dict[int, list[str]] = defaultdict(list)
    together: dict[Handler, list[OutboxEvent]] = {}
    for event in events:
        for handler in handlers_for(event.type):
            if getattr(handler, "many", None) is not None:
                together.setdefault(handler, []).append(event)
    for handler, group in together.items():
        name = getattr(handler, "__qualname__", handler)
        try:
            failed = handler.many(group) or {}  # type: ignore[attr-defined]
        except Exception as exc:
            logger.exception("handler %s failed for events %s", handler, [event.pk for event in group])
            failed = {event.pk: repr(exc) for event in group}
        for event_id, error in failed.items():
            failures[event_id].append(f"{name}: {error}")
    for event in events:
        errors = failures[event.pk]
        for handler in handlers_for(event.type):
            if handler in together:
                continue
            try:
                handler(event)
            except Exception as exc:
                logger.exception("handler %s failed for event %s", handler, event.pk)
                errors.append(f"{getattr(handler, '__qualname__', handler)}: {exc!r}")
        if errors:
            rawsql.update(OutboxEvent, [event.pk], {"last_error": "\n".join(errors)[:4000]}, add=step)
        else:
            done.append(event.pk)
    if done:
        rawsql.update(OutboxEvent, done, {"dispatched_at": timezone.now()}, add=step)

