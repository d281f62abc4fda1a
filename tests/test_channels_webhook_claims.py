"""One webhook delivery, one POST at a time: a run claims the delivery before it POSTs, so a
second run at the same moment (a task retry and the sweep's redelivery) sends nothing and
counts nothing; a claim left by a run that crashed expires, and the next run sends it."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone

from channels_sync import webhooks
from channels_sync.models import WebhookDelivery
from channels_sync.tasks import webhook_sweep, webhook_task
from omnichannel.models import OutboxEvent
from tests.conftest import requires_postgres


class Answer:
    """What urllib's opener returns for a 2xx (a context manager with a status)."""

    status = 204

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


@pytest.fixture
def delivery(web_channel) -> WebhookDelivery:
    web_channel.webhook_url, web_channel.webhook_secret = "https://shop.example/hooks", "whsec-test-123"
    web_channel.save()
    event = OutboxEvent.objects.create(type="order.confirmed", aggregate_type="order", aggregate_id="1",
                                       payload={"channel_id": web_channel.pk, "order_number": "OC-1"})
    return webhooks.webhook_prepare(event)


def row(delivery: WebhookDelivery) -> tuple:
    delivery.refresh_from_db()
    return delivery.status, delivery.attempts, delivery.claimed_at


@pytest.mark.django_db
def test_a_second_run_while_the_first_is_posting_sends_nothing_and_counts_nothing(delivery, monkeypatch):
    posts, second_run = [], []

    def endpoint(request, timeout):
        posts.append(request.full_url)
        if len(posts) == 1:  # while the first run waits on the channel, a second run of it starts
            second_run.append(webhooks.webhook_deliver(delivery.pk))
        return Answer()

    monkeypatch.setattr(webhooks._OPENER, "open", endpoint)

    assert webhooks.webhook_deliver(delivery.pk) is True
    assert second_run == [False]  # it exits quietly: no error, no retry
    assert posts == ["https://shop.example/hooks"]
    assert row(delivery) == (WebhookDelivery.Status.DELIVERED, 1, None)


@pytest.mark.django_db
def test_a_task_run_of_a_delivery_another_run_is_posting_neither_posts_nor_retries(delivery, monkeypatch):
    posts = []
    monkeypatch.setattr(webhooks._OPENER, "open", lambda request, timeout: posts.append(request) or Answer())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())  # a live run holds it

    assert webhook_task.delay(delivery.event_id).get() is False

    assert posts == []
    assert row(delivery)[:2] == (WebhookDelivery.Status.PENDING, 0)


@pytest.mark.django_db
def test_the_claim_of_a_run_that_crashed_expires_and_the_next_run_delivers(delivery, monkeypatch):
    posts = []
    monkeypatch.setattr(webhooks._OPENER, "open", lambda request, timeout: posts.append(request) or Answer())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(hours=1))

    assert webhooks.webhook_deliver(delivery.pk) is True

    assert len(posts) == 1
    assert row(delivery) == (WebhookDelivery.Status.DELIVERED, 1, None)


@pytest.mark.django_db
def test_the_sweep_sends_what_a_crashed_run_held_and_leaves_live_runs_and_retries_alone(delivery, monkeypatch):
    posts = []
    monkeypatch.setattr(webhooks._OPENER, "open", lambda request, timeout: posts.append(request) or Answer())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())  # a live run
    assert webhook_sweep() == 0
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=None, attempts=1)  # failed: its retry is queued
    assert webhook_sweep() == 0
    assert posts == []

    # The run that held it crashed mid-POST (a task that found it claimed ended without a retry).
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - webhooks.claim_lease()
                                                          - timedelta(seconds=1))
    assert webhook_sweep() == 1  # eager here: the task runs at once
    assert len(posts) == 1
    assert row(delivery) == (WebhookDelivery.Status.DELIVERED, 2, None)
    assert webhook_sweep() == 0


@pytest.mark.django_db
def test_a_failed_attempt_frees_the_delivery_for_its_retry(delivery, monkeypatch):
    import urllib.error

    def refused(request, timeout):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(webhooks._OPENER, "open", refused)
    with pytest.raises(webhooks.WebhookFailed):
        webhooks.webhook_deliver(delivery.pk)
    assert row(delivery) == (WebhookDelivery.Status.PENDING, 1, None)

    monkeypatch.setattr(webhooks._OPENER, "open", lambda request, timeout: Answer())
    assert webhooks.webhook_deliver(delivery.pk) is True
    assert row(delivery) == (WebhookDelivery.Status.DELIVERED, 2, None)


@pytest.mark.django_db
def test_a_run_whose_claim_ran_out_does_not_free_the_claim_of_the_run_that_took_over(delivery, monkeypatch):
    import urllib.error

    taken_over = timezone.now() + timedelta(seconds=1)

    def slow_then_reset(request, timeout):
        # This POST outlived its lease; another run claimed the delivery meanwhile.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=taken_over)
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(webhooks._OPENER, "open", slow_then_reset)
    with pytest.raises(webhooks.WebhookFailed):
        webhooks.webhook_deliver(delivery.pk)

    assert row(delivery) == (WebhookDelivery.Status.PENDING, 1, taken_over)  # the attempt counted, the claim kept


class HoldingReceiver:
    """A channel endpoint that holds each POST until `release` is set (at most 3 s), then answers 204."""

    def __init__(self):
        self.posts: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.posts.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                receiver.release.wait(3)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # takes both POSTs if both come
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_post_once(delivery):
    """Real threads, each on its own connection in autocommit, as two Celery workers would."""
    receiver = HoldingReceiver()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(url=receiver.url)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = webhooks.webhook_deliver(delivery.pk)
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[i] = exc
        finally:
            receiver.release.set()  # a run is done: the endpoint answers whoever is waiting
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        receiver.close()

    assert sorted(results, key=str) == [False, True], results
    assert len(receiver.posts) == 1
    assert row(delivery) == (WebhookDelivery.Status.DELIVERED, 1, None)
