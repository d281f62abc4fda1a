"""The outbox pump: woken through a Redis flag, it drains events in claimed batches; two
pumps at once never take the same event."""

from __future__ import annotations

import os
import threading

import pytest

from omnichannel import outbox
from omnichannel.celery import app as celery_app
from omnichannel.models import OutboxEvent
from tests.conftest import requires_postgres, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _events(n: int, kind: str = "test.pump") -> list[int]:
    rows = OutboxEvent.objects.bulk_create(
        [OutboxEvent(type=kind, aggregate_type="t", aggregate_id=str(i), payload={"i": i}) for i in range(n)])
    return [row.pk for row in rows]


def test_a_pump_drains_every_waiting_event_oldest_first_in_batches():
    seen = []
    outbox.register("test.pump", lambda event: seen.append(event.payload["i"]))
    ids = _events(45)
    assert outbox.pump(batch=10) == 45
    assert seen == list(range(45))
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()
    assert set(OutboxEvent.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
    assert outbox.pump(batch=10) == 0


def test_an_event_whose_handler_failed_is_left_for_the_sweep_not_taken_again():
    outbox.register("test.pump-fail", lambda event: 1 / 0)
    (event_id,) = _events(1, "test.pump-fail")
    assert outbox.pump() == 1
    event = OutboxEvent.objects.get(pk=event_id)
    assert (event.dispatched_at, event.attempts, "ZeroDivisionError" in event.last_error) == (None, 1, True)
    assert outbox.pump() == 0  # tried once: the sweep retries it later, with its backoff of 30 s


@requires_postgres
def test_pumps_running_at_once_never_take_the_same_event():
    calls, lock = [], threading.Lock()

    def handler(event):
        with lock:
            calls.append(event.pk)

    outbox.register("test.pump-race", handler)
    ids = _events(600, "test.pump-race")
    run_at_once(lambda: outbox.pump(batch=15), 6)
    assert sorted(calls) == sorted(ids)  # every event once: none missed, none twice
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()


needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the pump's flag")


@pytest.fixture
def woken(monkeypatch, settings):
    """Pump messages sent, with the flag in Redis as a web process would see it. Without the
    pump's promise to look again (`promised` turns it on)."""
    from omnichannel import tasks

    celery_app.conf.task_always_eager = False  # the eager_celery fixture puts it back
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "OUTBOX_PUMP_AWAKE_MS": 0}
    sent: list[int] = []
    monkeypatch.setattr(tasks.outbox_pump, "delay", lambda slot=0: sent.append(slot))
    monkeypatch.setattr(outbox, "_awake_until", 0.0)
    keys = [outbox._pump_flag(slot) for slot in range(outbox.PUMP_SLOTS)] + [outbox._awake_key()]
    outbox._pump_redis().delete(*keys)
    yield sent
    outbox._pump_redis().delete(*keys)


@needs_redis
def test_commits_wake_one_pump_and_none_while_it_drains(woken):
    for _ in range(5):
        assert outbox._wake_pump() is True
    assert woken == [0]  # one message for five commits while the pump is queued
    assert outbox.pump() == 0  # found nothing: it clears the flag on its way out
    outbox._wake_pump()
    assert woken == [0, 0]


@needs_redis
def test_an_event_committed_while_the_pump_drains_is_dispatched_by_it_without_a_message(woken):
    seen = []

    def handler(event):
        seen.append(event.payload["i"])
        if event.payload["i"] == 0:  # another request commits meanwhile
            OutboxEvent.objects.create(type="test.pump-late", aggregate_type="t", aggregate_id="1", payload={"i": 1})
            outbox._wake_pump()

    outbox.register("test.pump-late", handler)
    outbox._wake_pump()
    _events(1, "test.pump-late")
    assert outbox.pump() == 2
    assert seen == [0, 1] and woken == [0]


@needs_redis
def test_an_event_committed_just_after_the_last_empty_read_is_not_stranded(woken, monkeypatch):
    seen = []
    outbox.register("test.pump-edge", lambda event: seen.append(event.pk))
    real, reads = outbox.claim, []

    def claim(**kwargs):
        found = real(**kwargs)
        reads.append(len(found))
        if len(reads) == 1:  # a commit lands between the pump's empty read and its clearing the flag
            late = _events(1, "test.pump-edge")
            outbox._wake_pump()  # the flag is still set: no message
            seen.append(("late", late[0]))
        return found

    monkeypatch.setattr(outbox, "claim", claim)
    outbox._wake_pump()
    assert outbox.pump() == 1  # the look after clearing the flag finds it
    assert seen[0][0] == "late" and seen[1] == seen[0][1]
    assert woken == [0]


@needs_redis
def test_a_failed_pump_message_does_not_leave_the_flag_set(woken, monkeypatch):
    from omnichannel import tasks

    def broken(slot=0):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.outbox_pump, "delay", broken)
    with pytest.raises(ConnectionError):
        outbox._wake_pump()
    monkeypatch.setattr(tasks.outbox_pump, "delay", lambda slot=0: woken.append(slot))
    outbox._wake_pump()  # the next event wakes a pump
    assert woken == [0]


@needs_redis
def test_a_backlog_wakes_helper_pumps_and_a_helper_leaves_when_it_is_drained(woken):
    seen = []
    outbox.register("test.pump-backlog", lambda event: seen.append(event.pk))
    ids = _events(60, "test.pump-backlog")
    outbox._wake_pump()
    assert outbox.pump(batch=25) == 60  # 25 + 25 + 10: two full batches
    assert woken == [0, 1]  # the commit's pump, then one helper (its slot was free once)
    assert outbox.pump(1, batch=25) == 0  # the helper finds nothing and clears its flag
    assert not outbox._pump_redis().exists(outbox._pump_flag(1))
    assert sorted(seen) == ids


@needs_redis
def test_after_a_batch_that_was_not_full_the_pump_waits_so_what_commits_meanwhile_comes_in_one_batch(
        woken, monkeypatch):
    """Under a steady trickle a pump that claimed again at once would route a few orders per
    batch; it lingers instead, and the events committed meanwhile are taken together."""
    batches: list[list[int]] = []
    outbox.register("test.pump-linger", lambda event: None)
    real_dispatch, naps = outbox._dispatch_events, []

    def dispatch(events, **kwargs):
        batches.append([event.payload["i"] for event in events])
        real_dispatch(events, **kwargs)

    def nap(seconds):  # four requests commit while the pump waits
        naps.append(seconds)
        if len(naps) == 1:
            for i in range(4):
                OutboxEvent.objects.create(type="test.pump-linger", aggregate_type="t", aggregate_id=str(i),
                                           payload={"i": 10 + i})
                outbox._wake_pump()

    monkeypatch.setattr(outbox, "_dispatch_events", dispatch)
    monkeypatch.setattr(outbox, "_sleep", nap)
    ids = _events(2, "test.pump-linger")
    outbox._wake_pump()
    assert outbox.pump(batch=10, linger_s=0.02) == 6
    assert batches == [[0, 1], [10, 11, 12, 13]]
    assert naps == [0.02, 0.02]  # after each batch short of 10; the empty read ends the drain
    assert woken == [0]  # the flag stayed set while it waited: no message for those commits
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()


def test_a_pump_without_a_redis_broker_never_waits(monkeypatch):
    naps = []
    monkeypatch.setattr(outbox, "_sleep", naps.append)
    monkeypatch.setattr(outbox, "_pump_redis", lambda: None)
    outbox.register("test.pump-nolinger", lambda event: None)
    _events(3, "test.pump-nolinger")
    assert outbox.pump(batch=10, linger_s=0.02) == 3
    assert naps == []


# --- The pump's promise to look again: commits while it holds talk to Redis not at all ------


class FakeClock:
    """The monotonic clock the promise is counted on; a pump's nap moves it on."""

    def __init__(self):
        self.now = 1000.0
        self.naps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds


@pytest.fixture
def promised(woken, settings, monkeypatch):
    """`woken`, with the promise on (250 ms) and the clock in the test's hands. Yields the
    clock and the number of round trips a committing process made to Redis."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "OUTBOX_PUMP_AWAKE_MS": 250}
    clock = FakeClock()
    monkeypatch.setattr(outbox, "_clock", clock)
    monkeypatch.setattr(outbox, "_sleep", clock.sleep)
    trips: list[str] = []
    client = outbox._pump_redis()

    class Counting:  # the client as the committing process sees it
        def __getattr__(self, name):
            trips.append(name)
            return getattr(client, name)

    real_redis = outbox._pump_redis

    def commit_side():
        monkeypatch.setattr(outbox, "_pump_redis", lambda: Counting())
        try:
            return outbox._wake_pump_after_commit()
        finally:
            monkeypatch.setattr(outbox, "_pump_redis", real_redis)

    yield clock, trips, commit_side


@needs_redis
def test_commits_while_a_draining_pump_promised_to_look_again_send_nothing_and_it_takes_them(woken, promised):
    clock, trips, commit = promised
    seen: list[int] = []
    outbox.register("test.pump-promise", lambda event: seen.append(event.payload["i"]))
    _events(2, "test.pump-promise")
    assert commit() is True and trips == ["pipeline"] and woken == [0]  # no pump yet: one is sent
    real_dispatch = outbox._dispatch_events

    def dispatch(events, **kwargs):
        real_dispatch(events, **kwargs)
        if seen == [0, 1]:  # while the pump works, three requests commit one order each
            for i in (10, 11, 12):
                OutboxEvent.objects.create(type="test.pump-promise", aggregate_type="t", aggregate_id=str(i),
                                           payload={"i": i})
                assert commit() is True

    outbox._dispatch_events = dispatch
    try:
        assert outbox.pump(batch=10, linger_s=0.02) == 5
    finally:
        outbox._dispatch_events = real_dispatch
    assert sorted(seen) == [0, 1, 10, 11, 12]
    # The first of those commits read the promise with the flag (one round trip); the others
    # knew it still held and asked nothing. No second pump was sent.
    assert trips == ["pipeline", "pipeline"] and woken == [0]
    # The pump kept its word: it looked until the promise ran out, then left and cleared its flag.
    assert sum(clock.naps) >= 0.25
    assert not outbox._pump_redis().exists(outbox._pump_flag(0))


@needs_redis
def test_once_the_promise_has_lapsed_a_commit_wakes_a_pump_again(woken, promised):
    clock, trips, commit = promised
    outbox.register("test.pump-lapsed", lambda event: None)
    _events(1, "test.pump-lapsed")
    commit()
    assert outbox.pump(batch=10, linger_s=0.02) == 1  # promised, kept, gone
    _events(1, "test.pump-lapsed")
    clock.now += 1.0
    assert commit() is True
    assert woken == [0, 0]  # the flag was cleared on the pump's way out: a new pump is sent


@needs_redis
def test_a_pump_keeps_the_promise_the_pump_before_it_made(woken, promised):
    """A pump that handed over after its last batch left a promise behind; commits relied on
    it. The next pump does not leave before it has looked once more after it ran out."""
    clock, trips, commit = promised
    outbox.register("test.pump-heir", lambda event: None)
    outbox._pump_redis().set(outbox._awake_key(), "1", px=250)  # what the pump before promised
    assert commit() is True  # the flag was free: this commit sends a pump, and learns the promise
    looks: list[float] = []
    late: list[int] = []
    real_claim = outbox.claim

    def claim(**kwargs):
        looks.append(clock.now)
        if len(looks) == 2:  # a commit that relied on the promise, after the pump's first look
            late.extend(_events(1, "test.pump-heir"))
            assert commit() is True
        return real_claim(**kwargs)

    outbox.claim = claim
    try:
        assert outbox.pump(batch=10, linger_s=0.02) == 1
    finally:
        outbox.claim = real_claim
    assert late and not OutboxEvent.objects.filter(pk__in=late, dispatched_at__isnull=True).exists()
    assert looks[-1] - looks[0] >= 0.2  # it looked until the inherited promise ran out
    assert woken == [0]
