"""A capture that fails unexpectedly (a bug, an outage) leaves its archived payload marked
`failed`, not `received` as if still in progress; nothing of the order is written."""

from __future__ import annotations

import pytest

from channels_sync.models import InboundMessage
from inventory.models import StockLevel
from orders import services as order_services
from orders.models import Order
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db


def test_an_unexpected_error_marks_the_message_failed_and_writes_no_order(network, channel_client, monkeypatch):
    stock = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(order_services, "order_place", broken)
    channel_client.raise_request_exception = False
    response = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), external_id="web-1"),
                                   format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 500
    message = InboundMessage.objects.get()
    assert message.status == "failed"
    assert message.result == {"code": "server_error", "detail": "RuntimeError: the disk is on fire"}
    assert message.payload["external_id"] == "web-1"  # the payload is kept for a retry
    assert Order.objects.count() == 0
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")) == stock

    # the storefront retries with the same key once the fault is gone: placed, and archived again
    monkeypatch.undo()
    again = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), external_id="web-1"),
                                format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert sorted(InboundMessage.objects.values_list("status", flat=True)) == ["failed", "processed"]
