"""Times at the edge of the calendar, sent where the API takes a datetime: a 400 on the field,
never a 500. Stored in UTC, "0001-01-01T00:00" in Amsterdam (or any zone east of UTC) falls
before year 1, which Python cannot represent."""

from __future__ import annotations

import pytest

from channels_sync.models import InboundMessage
from orders.models import Order
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db

OFF_THE_CALENDAR = ["0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00"]


@pytest.mark.parametrize("value", OFF_THE_CALENDAR)
def test_an_order_promised_by_a_time_off_the_calendar_is_a_400_on_the_field(network, channel_client, value):
    body = ship_order(("TEE-WHT-M", 1))
    body["promised_by"] = value
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="edge-of-time")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "promised_by"
    assert not Order.objects.exists()
    assert InboundMessage.objects.get().status == InboundMessage.Status.REJECTED  # archived, and why


def test_an_order_promised_by_an_ordinary_time_keeps_it(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["promised_by"] = "2026-12-03T18:00:00+01:00"
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="ordinary")

    assert response.status_code == 201, response.content
    assert response.json()["promised_by"].startswith("2026-12-03T18:00:00+01:00")


@pytest.mark.parametrize("param", ["placed_after", "placed_before"])
@pytest.mark.parametrize("value", OFF_THE_CALENDAR)
def test_listing_orders_from_a_time_off_the_calendar_is_a_400_on_the_filter(network, channel_client, ops_client,
                                                                             param, value):
    assert channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json",
                               HTTP_IDEMPOTENCY_KEY="one").status_code == 201
    for client in (channel_client, ops_client):
        response = client.get("/api/v1/orders/", {param: value})
        assert response.status_code == 400, response.content
        assert param in response.content.decode()
    listed = channel_client.get("/api/v1/orders/", {"placed_after": "2000-01-01T00:00:00Z"})
    assert listed.status_code == 200 and listed.json()["count"] == 1
