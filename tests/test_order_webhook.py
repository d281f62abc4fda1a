"""A channel's platform pushes orders to `POST /api/v1/channels/{code}/webhook/orders/`, signed
with the channel's webhook secret: checked before anything is stored, then archived and placed
as the order API places it (DESIGN: capture by channel webhook)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from channels_sync.models import InboundMessage
from channels_sync.webhooks import sign
from inventory.models import StockLevel
from orders.models import Order
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec-amazon-7f3c"
URL = "/api/v1/channels/amazon/webhook/orders/"


@pytest.fixture
def signed_marketplace(marketplace):
    marketplace.webhook_secret = SECRET
    marketplace.save()
    return marketplace


def push(body: dict | str, *, secret: str = SECRET, delivery: str = "dlv-1", at: float | None = None,
         url: str = URL, signature: str | None = None):
    raw = body if isinstance(body, str) else json.dumps(body)
    headers = {"HTTP_X_OMNICHANNEL_DELIVERY": delivery} if delivery else {}
    sig = signature if signature is not None else sign(secret, int(at or time.time()), raw)
    return Client().post(url, data=raw, content_type="application/json", HTTP_X_OMNICHANNEL_SIGNATURE=sig, **headers)


def test_a_signed_order_is_archived_and_placed_and_the_same_delivery_again_is_the_same_order(
        network, signed_marketplace, channel_client):
    body = ship_order(("RUN-BLK-42", 1), external_id="AMZ-114-22")
    first = push(body)
    again = push(body)
    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again.json()["number"] == first.json()["number"]
    order = Order.objects.get()
    assert order.channel == signed_marketplace and order.external_id == "AMZ-114-22"
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 1
    messages = list(InboundMessage.objects.order_by("pk").values_list("source", "idempotency_key", "status"))
    assert messages == [("webhook", "dlv-1", "processed"), ("webhook", "dlv-1", "duplicate")]
    # the order is the marketplace's: its timeline names it, and the web store cannot see it
    assert order.events.filter(actor="channel:amazon").exists()
    assert channel_client.get(f"/api/v1/orders/{order.number}/").status_code == 404


@pytest.mark.parametrize("case", ["wrong secret", "stale", "tampered", "no signature", "garbage"])
def test_a_request_not_signed_by_the_channel_is_refused_and_nothing_is_stored(network, signed_marketplace, case):
    body = ship_order(("RUN-BLK-42", 1), external_id="AMZ-1")
    raw = json.dumps(body)
    if case == "wrong secret":
        response = push(body, secret="someone-else")
    elif case == "stale":
        response = push(body, at=time.time() - 3600)
    elif case == "tampered":
        response = push(raw.replace('"quantity": 1', '"quantity": 9'), signature=sign(SECRET, int(time.time()), raw))
    elif case == "no signature":
        response = Client().post(URL, data=raw, content_type="application/json")
    else:
        response = push(body, signature="t=abc,v1=\u00e9")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Signature"
    assert not InboundMessage.objects.exists() and not Order.objects.exists()


def test_a_channel_without_a_webhook_secret_or_unknown_takes_no_pushed_orders(network, marketplace, web_channel):
    body = ship_order(("RUN-BLK-42", 1))
    assert push(body, secret="").status_code == 401  # the marketplace has no secret yet
    assert push(body, url="/api/v1/channels/nope/webhook/orders/").status_code == 401
    assert not InboundMessage.objects.exists() and not Order.objects.exists()


def test_a_signed_but_invalid_order_is_archived_rejected_with_field_errors(network, signed_marketplace):
    body = ship_order(("NO-SUCH-SKU", 1), external_id="AMZ-2")
    response = push(body)
    assert response.status_code == 400
    assert "lines" in json.dumps(response.json())
    assert list(InboundMessage.objects.values_list("source", "status")) == [("webhook", "rejected")]
    assert not Order.objects.exists()


def test_a_marketplace_sale_short_of_stock_is_backordered_as_its_policy_says(network, signed_marketplace):
    response = push(ship_order(("RUN-BLK-42", 500), external_id="AMZ-3"))
    assert response.status_code == 201
    assert Order.objects.get().lines.get().backordered_quantity > 0


def test_a_token_does_not_open_the_webhook(network, signed_marketplace, marketplace_client):
    response = marketplace_client.post(URL, ship_order(("RUN-BLK-42", 1)), format="json")
    assert response.status_code == 401
    assert not Order.objects.exists()


def test_a_body_too_large_or_not_utf8_is_refused_cleanly(network, signed_marketplace):
    raw = json.dumps({**ship_order(("RUN-BLK-42", 1)), "note": "x" * 3_000_000})
    too_big = push(raw)
    assert too_big.status_code == 413 and too_big["Content-Type"].startswith("application/json")
    not_text = Client().post(URL, data=b'{"a": "\xff"}', content_type="application/json",
                             HTTP_X_OMNICHANNEL_SIGNATURE=sign(SECRET, int(time.time()), "x"))
    assert not_text.status_code == 400  # not JSON text: refused as the order API refuses it
    assert not InboundMessage.objects.exists() and not Order.objects.exists()
