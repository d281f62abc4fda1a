"""Channel webhooks: a delivery is marked delivered only when the channel's endpoint took the POST."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from channels_sync import webhooks
from omnichannel.models import OutboxEvent

pytestmark = pytest.mark.django_db


class RedirectingReceiver:
    """An endpoint that answers the POST with a redirect and any GET with 200 (a site that
    moved its hooks, or sends http to https)."""

    def __init__(self, status: int):
        self.calls: list[tuple[str, str, str]] = []  # (method, path, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.calls.append(("POST", self.path, body))
                self.send_response(status)
                self.send_header("Location", "/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                receiver.calls.append(("GET", self.path, ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_webhook_answered_with_a_redirect_is_not_marked_delivered(web_channel, status):
    receiver = RedirectingReceiver(status)
    try:
        web_channel.webhook_url, web_channel.webhook_secret = receiver.url, "whsec-test-123"
        web_channel.save()
        event = OutboxEvent.objects.create(type="order.confirmed", aggregate_type="order", aggregate_id="1",
                                           payload={"channel_id": web_channel.pk, "order_number": "OC-1"})
        delivery = webhooks.webhook_prepare(event)

        with pytest.raises(webhooks.WebhookFailed, match="redirect"):
            webhooks.webhook_deliver(delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, status)
        assert "/moved" in delivery.last_error
        assert [(method, path) for method, path, _ in receiver.calls] == [("POST", "/hooks")]  # no body-less GET
    finally:
        receiver.close()


def test_an_attempt_is_counted_in_the_database_and_never_undoes_a_delivery(web_channel, monkeypatch):
    # Two runs of one delivery at once (a retry while the first is still waiting on the
    # network): the other run delivers and counts its attempt while this one's POST fails.
    import urllib.error

    from channels_sync.models import WebhookDelivery

    web_channel.webhook_url, web_channel.webhook_secret = "https://shop.example/hooks", "whsec-test-123"
    web_channel.save()
    event = OutboxEvent.objects.create(type="order.confirmed", aggregate_type="order", aggregate_id="1",
                                       payload={"channel_id": web_channel.pk, "order_number": "OC-1"})
    delivery = webhooks.webhook_prepare(event)

    def other_run_delivers_meanwhile(request, timeout):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1, status=WebhookDelivery.Status.DELIVERED)
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(webhooks._OPENER, "open", other_run_delivers_meanwhile)
    with pytest.raises(webhooks.WebhookFailed):
        webhooks.webhook_deliver(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 2)
