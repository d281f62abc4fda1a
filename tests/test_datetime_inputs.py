"""Times at the edge of the calendar, sent where the API takes a datetime: a 400 on the field,
never a 500. Stored in UTC, "0001-01-01T00:00" in Amsterdam (or any zone east of UTC) falls
before year 1, which Python cannot represent. And implausible times (before 2000, more than five
years ahead: omnichannel.api.EARLIEST_DATETIME, LATEST_DATETIME_AHEAD) are refused on the field;
the list filters still take any time the database can compare with."""

from __future__ import annotations

from datetime import timedelta

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


# --- implausible dates: refused on the field, not rendered in local mean time -------------------------------

IMPLAUSIBLE = [
    ("1900-01-01T00:00:00Z", "too_early"),  # rendered as "1900-01-01T00:19:32+00:19:32" (Amsterdam's LMT)
    ("0968-05-02T03:05:51Z", "too_early"),
    ("1999-12-31T23:59:59Z", "too_early"),
    ("2000-01-01T00:59:59+01:00", "too_early"),  # 1999-12-31T23:59:59Z
    ("9999-12-31T23:59:59Z", "too_late"),
]


@pytest.mark.parametrize("value, code", IMPLAUSIBLE)
def test_an_order_promised_by_an_implausible_date_is_a_400_on_the_field(network, channel_client, value, code):
    body = ship_order(("TEE-WHT-M", 1))
    body["promised_by"] = value
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="implausible")

    assert response.status_code == 400, response.content
    answer = response.json()
    assert (answer["code"], answer["field"]) == ("invalid", "promised_by")
    assert answer["errors"][0]["code"] == code
    expected = "before 2000-01-01T00:00:00Z" if code == "too_early" else "more than 5 years from now"
    assert expected in answer["detail"]
    assert not Order.objects.exists()


def test_a_promise_more_than_five_years_ahead_is_too_late_and_one_just_within_is_kept(
        network, channel_client, settings):
    from django.utils import timezone

    from omnichannel.api import LATEST_DATETIME_AHEAD

    now = timezone.now()
    too_late = ship_order(("TEE-WHT-M", 1))
    too_late["promised_by"] = (now + LATEST_DATETIME_AHEAD + timedelta(days=1)).isoformat()
    refused = channel_client.post("/api/v1/orders/", too_late, format="json", HTTP_IDEMPOTENCY_KEY="late")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "too_late", refused.content

    within = ship_order(("TEE-WHT-M", 1))
    within["promised_by"] = (now + LATEST_DATETIME_AHEAD - timedelta(days=1)).isoformat()
    placed = channel_client.post("/api/v1/orders/", within, format="json", HTTP_IDEMPOTENCY_KEY="within")
    assert placed.status_code == 201, placed.content


def test_the_earliest_accepted_instant_is_kept_and_rendered_as_rfc_3339(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["promised_by"] = "2000-01-01T00:00:00Z"
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="earliest")

    assert response.status_code == 201, response.content
    assert response.json()["promised_by"] == "2000-01-01T01:00:00+01:00"


@pytest.mark.parametrize("value, code", IMPLAUSIBLE)
def test_a_scan_at_an_implausible_date_is_a_400_on_the_field(carrier, ops_client, value, code):
    from tests.transport.test_shipments_and_tracking import book, scan
    from transport.models import Shipment, TrackingEvent

    shipment = book()
    response = scan(ops_client, shipment.tracking_number, {"status": "delivered", "occurred_at": value})

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "occurred_at"
    assert response.json()["errors"][0]["code"] == code
    assert not TrackingEvent.objects.exists()
    assert Shipment.objects.get().status == Shipment.Status.BOOKED
