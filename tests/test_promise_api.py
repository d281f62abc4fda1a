"""The promise API across a cutoff and a weekend, and orders placed with a promise."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from orders.models import Order
from orders.services import promise_service
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)
AMS = ZoneInfo("Europe/Amsterdam")
DAMRAK = {"latitude": 52.3760, "longitude": 4.8970}


def options_at(client, monkeypatch, when: dt.datetime, cart=(("RUN-BLK-42", 1),), **extra):
    monkeypatch.setattr(promise_service.timezone, "now", lambda: when)
    body = {"cart": [{"sku": s, "quantity": q} for s, q in cart], **DAMRAK, **extra}
    response = client.post("/api/v1/promise/", body, format="json")
    assert response.status_code == 200, response.content
    return {o["id"]: o for o in response.json()["options"]}


def test_tuesday_morning_offers_ship_same_day_and_nearby_pickup(network, channel_client, monkeypatch):
    options = options_at(channel_client, monkeypatch, dt.datetime(2026, 12, 1, 10, 0, tzinfo=AMS))
    assert set(options) == {"ship:omnipost-standard", "ship:omnipost-express", "ship:omnipost-sameday",
                            "pickup:ST1", "pickup:ST2"}
    assert options["ship:omnipost-standard"]["earliest"].startswith("2026-12-03")
    assert options["ship:omnipost-express"]["earliest"].startswith("2026-12-02")
    assert options["ship:omnipost-sameday"]["earliest"].startswith("2026-12-01")
    assert options["ship:omnipost-sameday"]["locations"] == ["ST1"]  # the only same-day store
    assert options["ship:omnipost-standard"]["cost"] == "4.95"
    assert list(options)[-2:] == ["pickup:ST1", "pickup:ST2"]  # nearest store first


def test_after_the_cutoff_and_over_the_weekend(network, channel_client, monkeypatch):
    friday_evening = dt.datetime(2026, 12, 4, 19, 30, tzinfo=AMS)
    options = options_at(channel_client, monkeypatch, friday_evening)
    assert "ship:omnipost-sameday" not in options
    assert options["ship:omnipost-express"]["earliest"].startswith("2026-12-08")  # leaves Monday
    assert options["ship:omnipost-standard"]["earliest"].startswith("2026-12-09")
    assert options["pickup:ST1"]["earliest"].startswith("2026-12-05T")  # stores open on Saturday


def test_cart_larger_than_any_store_has_no_pickup(network, channel_client, monkeypatch):
    options = options_at(channel_client, monkeypatch, dt.datetime(2026, 12, 1, 10, 0, tzinfo=AMS),
                         cart=(("RUN-BLK-42", 10),))
    assert set(options) == {"ship:omnipost-standard", "ship:omnipost-express"}  # only the warehouse holds 10


def test_a_sku_given_by_code_and_by_barcode_is_promised_for_both_lines(network, channel_client, monkeypatch):
    options = options_at(channel_client, monkeypatch, dt.datetime(2026, 12, 1, 10, 0, tzinfo=AMS),
                         cart=(("RUN-BLK-42", 2), ("8712345000017", 2)))  # 4 shoes: ST1 has 3, ST2 has 2
    assert set(options) == {"ship:omnipost-standard", "ship:omnipost-express"}  # only the warehouse holds 4


def test_bad_promise_requests(network, channel_client):
    unknown = channel_client.post("/api/v1/promise/", {"cart": [{"sku": "NOPE", "quantity": 1}], **DAMRAK},
                                  format="json")
    assert unknown.status_code == 400 and unknown.json()["field"] == "cart[0].sku"
    half = channel_client.post("/api/v1/promise/", {"cart": [{"sku": "RUN-BLK-42", "quantity": 1}],
                                                    "latitude": 52.3}, format="json")
    assert half.status_code == 400 and half.json()["field"] == "longitude"


def test_an_order_that_cannot_keep_its_promise_is_flagged_at_risk(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["promise_option"] = "ship:omnipost-express"
    body["promised_by"] = "2020-01-01T12:00:00+01:00"  # already past: no location can make it
    number = channel_client.post("/api/v1/orders/", body, format="json").json()["number"]
    order = Order.objects.get(number=number)
    assert order.fulfillments.count() == 1  # still routed: late beats never
    assert "cannot deliver by" in order.at_risk_reason
    assert order.events.filter(type="order.at_risk").exists()


def test_an_order_with_a_keepable_promise_is_not_flagged(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["promise_option"] = "ship:omnipost-standard"
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).replace(microsecond=0)
    body["promised_by"] = deadline.isoformat()
    number = channel_client.post("/api/v1/orders/", body, format="json").json()["number"]
    order = Order.objects.get(number=number)
    assert order.at_risk_reason == "" and not order.events.filter(type="order.at_risk").exists()
    assert dt.datetime.fromisoformat(order.routing_decisions.get().inputs["deadline"]) == deadline


def test_a_channel_is_promised_only_what_its_feeding_locations_can_do(network, web_channel, channel_client,
                                                                     ops_client, monkeypatch):
    tuesday = dt.datetime(2026, 12, 1, 10, 0, tzinfo=AMS)
    web_channel.feeding_locations.set([network["ST2"], network["WH1"]])  # not ST1, the same-day store
    options = options_at(channel_client, monkeypatch, tuesday)
    assert "ship:omnipost-sameday" not in options
    assert [o for o in options if o.startswith("pickup:")] == ["pickup:ST2"]
    assert set(options["ship:omnipost-standard"]["locations"]) <= {"ST2", "WH1"}
    staff = options_at(ops_client, monkeypatch, tuesday)  # staff see the whole network
    assert {"ship:omnipost-sameday", "pickup:ST1", "pickup:ST2"} <= set(staff)
