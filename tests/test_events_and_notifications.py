"""The outbox, customer emails once per event, signed channel webhooks with retries,
and production settings."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from channels_sync import webhooks
from channels_sync.models import WebhookDelivery
from channels_sync.tasks import webhook_task
from omnichannel import outbox
from omnichannel.models import OutboxEvent
from omnichannel.tasks import outbox_sweep
from orders.models import CustomerNotification, Order
from orders.tasks import customer_notification_task
from tests.conftest import ROOT
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A storefront's webhook endpoint on localhost: fails the first `fail_first` calls."""

    def __init__(self, fail_first: int = 0):
        self.calls: list[tuple[dict, str]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.calls.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.calls) <= receiver.fail_first else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/omnichannel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_each_customer_email_is_sent_once_even_if_the_task_runs_twice(network, channel_client):
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    order = Order.objects.get(number=number)
    confirmed = OutboxEvent.objects.get(type="order.confirmed", aggregate_id=str(order.pk))
    assert [m.subject for m in mail.outbox] == [f"We have your order {number}"]
    customer_notification_task.delay(confirmed.pk)
    customer_notification_task.delay(confirmed.pk)
    assert len(mail.outbox) == 1
    assert CustomerNotification.objects.filter(event=confirmed).count() == 1
    assert mail.outbox[0].to == ["eva@example.com"]


def test_an_email_that_failed_to_send_is_sent_by_the_retry_and_only_once(network, channel_client, monkeypatch):
    from orders import notifications

    real, calls = notifications.send_mail, []

    def flaky(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:
            raise ConnectionRefusedError("smtp down")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", flaky)
    response = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json")
    assert response.status_code == 201  # the order does not wait for the email
    confirmed = OutboxEvent.objects.get(type="order.confirmed")
    row = CustomerNotification.objects.get(event=confirmed)
    assert (row.status, row.attempts, "smtp down" in row.last_error) == ("failed", 1, True)
    assert mail.outbox == []

    customer_notification_task.apply(args=[confirmed.pk])  # the retry
    customer_notification_task.apply(args=[confirmed.pk])  # and a duplicate of it
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1 and len(calls) == 2


def test_an_event_nobody_listens_to_is_stored_dispatched_and_costs_no_task(network, monkeypatch):
    from django.db import transaction

    enqueued = []
    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", enqueued.append)
    outbox.register("test.heard", lambda event: None)
    with transaction.atomic():
        heard, unheard = outbox.publish_many([("test.heard", "t", 1, {}), ("test.unheard", "t", 1, {})])
        nobody = outbox.publish("test.unheard", "t", 2, {})
    assert enqueued == [[heard.pk]]  # one task, for the event with a handler
    rows = {e.pk: e for e in OutboxEvent.objects.filter(aggregate_type="t")}
    assert rows[heard.pk].dispatched_at is None
    assert rows[unheard.pk].dispatched_at is not None and rows[nobody.pk].dispatched_at is not None
    assert outbox_sweep(older_than_s=0) == 1  # the sweep has only the heard one to do


@pytest.mark.parametrize("queues", [{"default", "notifications"}, {"default", "notifications", "routing"}, set()])
def test_a_worker_does_a_handlers_task_itself_only_when_it_consumes_that_queue(network, channel_client, monkeypatch,
                                                                               queues):
    from orders import tasks

    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)  # the web's dispatch message is lost
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    order = Order.objects.get(number=number)
    pending = list(OutboxEvent.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True))
    assert order.status == "placed" and len(pending) == 2 and mail.outbox == []

    enqueued = []
    monkeypatch.setattr(tasks.order_route_task, "delay", lambda *args: enqueued.append(("route", *args)))
    monkeypatch.setattr(tasks.customer_notification_task, "delay", lambda *args: enqueued.append(("notify", *args)))
    monkeypatch.setattr(outbox, "_in_worker", lambda: True)  # as in a worker's dispatch task
    monkeypatch.setattr(outbox, "_consumed_queues", frozenset(queues))
    outbox.dispatch_many(pending)

    order.refresh_from_db()
    confirmed = OutboxEvent.objects.get(type="order.confirmed")
    expected = ([] if "routing" in queues else [("route", order.pk, "placed")]) + \
        ([] if "notifications" in queues else [("notify", confirmed.pk)])
    assert enqueued == expected
    assert order.status == ("allocated" if "routing" in queues else "placed")
    assert len(mail.outbox) == (1 if "notifications" in queues else 0)
    assert not OutboxEvent.objects.filter(pk__in=pending, dispatched_at__isnull=True).exists()


def test_when_doing_the_work_here_fails_the_task_is_enqueued_for_its_retries(network, channel_client, monkeypatch):
    from orders import services, tasks

    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    order = Order.objects.get(number=number)
    placed = OutboxEvent.objects.get(type="order.placed")

    def broken(*args, **kwargs):
        services.routing.Order.objects.filter(pk=order.pk).update(status="allocated")  # written, then rolled back
        raise RuntimeError("router bug")

    monkeypatch.setattr(services, "order_route", broken)
    enqueued = []
    monkeypatch.setattr(tasks.order_route_task, "delay", lambda *args: enqueued.append(args))
    monkeypatch.setattr(outbox, "_in_worker", lambda: True)
    monkeypatch.setattr(outbox, "_consumed_queues", frozenset({"default", "routing", "notifications"}))
    outbox.dispatch_many([placed.pk])
    assert enqueued == [(order.pk, "placed")]
    order.refresh_from_db()
    assert order.status == "placed"


def test_no_being_prepared_email_before_picking_starts(network, channel_client, picker_client_for):
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    fulfillment = Order.objects.get(number=number).fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/accept/")
    assert not [m for m in mail.outbox if "being prepared" in m.subject]
    picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/start-picking/")
    assert [m.subject for m in mail.outbox if "being prepared" in m.subject] == [
        f"Your order {number} is being prepared"]


def test_channel_webhooks_are_signed_and_retried_until_delivered(network, web_channel, channel_client):
    receiver = Receiver(fail_first=2)
    try:
        web_channel.webhook_url = receiver.url
        web_channel.webhook_secret = "whsec-test-123"
        web_channel.save()
        number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)),
                                     format="json").json()["number"]
        delivery = WebhookDelivery.objects.get(event__type="order.confirmed")
        assert (delivery.status, delivery.attempts, len(receiver.calls)) == ("pending", 1, 1)
        # The event stays undispatched, so the sweep tries again until the receiver accepts it.
        for _ in range(2):
            outbox_sweep(older_than_s=0)
        headers, body = receiver.calls[-1]
        assert len(receiver.calls) == 3
        assert headers["X-Omnichannel-Event"] == "order.confirmed"
        assert webhooks.verify("whsec-test-123", headers["X-Omnichannel-Signature"], body)
        assert not webhooks.verify("wrong-secret", headers["X-Omnichannel-Signature"], body)
        assert json.loads(body)["data"]["order_number"] == number
        delivery.refresh_from_db()
        assert len(mail.outbox) == 1  # re-dispatching the event did not email the customer again
        assert (delivery.status, delivery.attempts) == ("delivered", 3)
        webhook_task.delay(delivery.event_id)  # a duplicate run sends nothing more
        assert len(receiver.calls) == 3
    finally:
        receiver.close()


def test_pickup_code_is_never_sent_to_the_channel(network, web_channel):
    event = OutboxEvent.objects.create(type="fulfillment.ready_for_pickup", aggregate_type="order",
                                       aggregate_id="1", payload={"channel_id": web_channel.pk, "pickup_code": "123456",
                                                                  "order_number": "OC-1"})
    web_channel.webhook_url = "http://127.0.0.1:9/"
    web_channel.save()
    delivery = webhooks.webhook_prepare(event)
    assert "123456" not in delivery.body and "OC-1" in delivery.body


def test_a_channel_without_a_webhook_url_costs_no_webhook_task(network, web_channel, monkeypatch):
    sent = []
    monkeypatch.setattr(webhook_task, "delay", lambda event_id: sent.append(event_id))
    event = OutboxEvent.objects.create(type="order.confirmed", aggregate_type="order", aggregate_id="1",
                                       payload={"channel_id": web_channel.pk, "order_number": "OC-1"})
    outbox.dispatch(event.pk)
    assert (sent, WebhookDelivery.objects.count()) == ([], 0)

    web_channel.webhook_url = "https://shop.example/hooks"
    web_channel.save()
    second = OutboxEvent.objects.create(type="order.confirmed", aggregate_type="order", aggregate_id="1",
                                        payload={"channel_id": web_channel.pk, "order_number": "OC-1"})
    outbox.dispatch(second.pk)
    assert sent == [second.pk]
    assert list(WebhookDelivery.objects.values_list("event_id", "url")) == [(second.pk, "https://shop.example/hooks")]


def test_the_sweep_dispatches_events_left_undelivered(network, channel_client):
    calls = []

    def handler(event):
        calls.append(event.pk)

    outbox.register("test.swept", handler)
    from django.db import transaction
    from django.utils import timezone

    with transaction.atomic():
        event = OutboxEvent.objects.create(type="test.swept", aggregate_type="t", aggregate_id="1", payload={})
    # Its after-commit dispatch never happened (say the broker was down): the sweep finds it.
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    assert outbox_sweep() == 1
    assert calls == [event.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert outbox_sweep() == 0


def test_a_batch_dispatch_marks_what_succeeded_and_keeps_a_failed_event_for_the_retry(network):
    calls = []

    def handler(event):
        calls.append(event.pk)
        if event.payload.get("fail"):
            raise RuntimeError("downstream is down")

    outbox.register("test.batch", handler)
    ok, bad, again = (OutboxEvent.objects.create(type="test.batch", aggregate_type="t", aggregate_id=str(i),
                                                 payload={"fail": i == 1}) for i in range(3))
    OutboxEvent.objects.filter(pk=again.pk).update(attempts=2)  # tried twice before

    outbox.dispatch_many([again.pk, ok.pk, bad.pk])

    assert calls == [ok.pk, bad.pk, again.pk]  # in id order
    rows = {e.pk: e for e in OutboxEvent.objects.filter(type="test.batch")}
    assert rows[ok.pk].dispatched_at and rows[ok.pk].attempts == 1
    assert rows[again.pk].dispatched_at and rows[again.pk].attempts == 3
    assert rows[bad.pk].dispatched_at is None and rows[bad.pk].attempts == 1
    assert "downstream is down" in rows[bad.pk].last_error

    outbox.dispatch_many([ok.pk, bad.pk, again.pk])  # again: only the failed one runs
    assert calls[3:] == [bad.pk]


def test_production_mode_refuses_the_development_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="0", DJANGO_SETTINGS_MODULE="omnichannel.settings")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr
    env["SECRET_KEY"] = "x" * 50
    ok = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_production_https_settings_come_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), DJANGO_SETTINGS_MODULE="omnichannel.settings")
    plain = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert "security.W008" in plain.stderr and "security.W004" in plain.stderr  # off unless asked for
    env.update(SECURE_SSL_REDIRECT="1", SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
               SECURE_HSTS_PRELOAD="1", SECURE_PROXY_SSL_HEADER="1", ALLOWED_HOSTS="testserver")
    https = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert https.returncode == 0 and "no issues" in https.stdout, https.stderr
    probe = ("from django.test import Client; c = Client(); "
             "print(c.get('/health/').status_code, c.get('/api/docs/').status_code, "
             "c.get('/health/', HTTP_X_FORWARDED_PROTO='https').status_code, "
             "c.get('/health/', secure=True)['Strict-Transport-Security'])")
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1].split() == ["200", "301", "200", "max-age=31536000;", "includeSubDomains;",
                                                          "preload"], out.stderr
