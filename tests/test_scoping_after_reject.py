"""Every API object is scoped to its caller: a picker sees their location's work. Once a
location's staff reject their part of an order and it is routed to another location, the
order is no longer theirs: they cannot open it, list it or cancel it, and nothing of the
other location's part (its location, lines, shipment, timeline) reaches them. Their own
rejected fulfillment stays in their fulfillment list as history. Where two locations each
fulfil a part of one order, each location's staff see only their own part."""

from __future__ import annotations

import json

import pytest

from orders.models import Order
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def ship(picker, fulfillment_id: int, weight_grams: int = 1500) -> dict:
    base = f"/api/v1/fulfillments/{fulfillment_id}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    assert picker.post(f"{base}/pack/", {"packages": [{"weight_grams": weight_grams}]}, format="json").status_code == 200
    shipped = picker.post(f"{base}/ship/", {}, format="json").json()
    assert shipped["status"] == "shipped", shipped
    return shipped


def test_the_rejecting_locations_staff_lose_the_order_to_the_location_it_went_to(network, channel_client,
                                                                                 picker_client_for, ops_client):
    # given an order sent to De Pijp (ST2), which rejects it: it goes to the warehouse, which ships it
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    rejected = order.fulfillments.get()
    assert rejected.location.code == "ST2"
    store = picker_client_for(network["ST2"])
    assert store.get(f"/api/v1/orders/{order.number}/").status_code == 200  # theirs while they hold it
    response = store.post(f"/api/v1/fulfillments/{rejected.pk}/reject/", {"reason": "capacity"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    live = order.fulfillments.exclude(pk=rejected.pk).get()
    assert live.location.code == "WH1"
    warehouse = picker_client_for(network["WH1"])
    tracking = ship(warehouse, live.pk)["shipment"]["tracking_number"]

    # then De Pijp's picker can neither open nor list nor cancel the order
    assert store.get(f"/api/v1/orders/{order.number}/").status_code == 404
    assert store.get("/api/v1/orders/").json()["count"] == 0
    assert store.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "oops"}, format="json").status_code == 404
    order.refresh_from_db()
    assert order.status == "shipped"
    # nor reach the warehouse's part or its shipment
    assert store.get(f"/api/v1/fulfillments/{live.pk}/").status_code == 404
    assert store.get(f"/api/v1/shipments/{tracking}/label.pdf").status_code == 404
    # their own rejection stays in their fulfillment list, as history, and shows nothing of the warehouse's
    history = store.get("/api/v1/fulfillments/").json()
    assert [(f["number"], f["status"], f["location"], f["shipment"]) for f in history["results"]] == [
        (rejected.number, "rejected", "ST2", None)]
    assert store.get("/api/v1/fulfillments/?status=rejected").json()["count"] == 1
    assert store.get("/api/v1/fulfillments/?status=shipped").json()["count"] == 0
    assert tracking not in json.dumps(history) and "WH1" not in json.dumps(history)

    # the warehouse's staff see the order and their part of it, not De Pijp's rejection
    body = warehouse.get(f"/api/v1/orders/{order.number}/").json()
    assert [(f["location"], f["status"]) for f in body["fulfillments"]] == [("WH1", "shipped")]
    assert body["fulfillments"][0]["shipment"]["tracking_number"] == tracking
    assert warehouse.get("/api/v1/orders/").json()["count"] == 1
    # ops and the channel still see everything
    for client in (ops_client, channel_client):
        every = client.get(f"/api/v1/orders/{order.number}/").json()
        assert [(f["location"], f["status"]) for f in every["fulfillments"]] == [("ST2", "rejected"),
                                                                                 ("WH1", "shipped")]
    assert ops_client.get("/api/v1/orders/").json()["count"] == channel_client.get("/api/v1/orders/").json()["count"]


def test_each_location_of_a_split_order_sees_only_its_own_part(network, channel_client, picker_client_for):
    # given 21 shoes: 18 from the warehouse, which ships them, and 3 from a store, not yet picked
    order = place(channel_client, ship_order(("RUN-BLK-42", 21)))
    at_warehouse = order.fulfillments.get(location=network["WH1"])
    at_store = order.fulfillments.exclude(pk=at_warehouse.pk).get()
    tracking = ship(picker_client_for(network["WH1"]), at_warehouse.pk, weight_grams=9000)["shipment"][
        "tracking_number"]
    store = picker_client_for(at_store.location)

    # when the store's picker opens the order
    response = store.get(f"/api/v1/orders/{order.number}/")

    # then they see the order's lines and their own part only: not the warehouse's, its
    # shipment, or its steps on the timeline
    assert response.status_code == 200
    body = response.json()
    assert [(f["number"], f["location"], f["status"]) for f in body["fulfillments"]] == [
        (at_store.number, at_store.location.code, "pending")]
    assert [line["quantity"] for line in body["lines"]] == [21]
    text = json.dumps(body)
    assert tracking not in text and at_warehouse.number not in text and "WH1" not in text
    assert "shipment.shipped" not in [event["type"] for event in body["timeline"]]
    assert "fulfillment.created" in [event["type"] for event in body["timeline"]]  # their own part's


def test_floor_staff_who_cancel_an_order_are_answered_with_it_and_then_no_longer_see_it(network, channel_client,
                                                                                        picker_client_for):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)

    response = picker.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "customer phoned"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert [(f["number"], f["status"]) for f in response.json()["fulfillments"]] == [(fulfillment.number,
                                                                                      "cancelled")]
    # nothing is left for their location to do: the order leaves their orders
    assert picker.get(f"/api/v1/orders/{order.number}/").status_code == 404
    assert picker.get("/api/v1/orders/").json()["count"] == 0
    assert picker.get("/api/v1/fulfillments/?status=cancelled").json()["count"] == 1  # their history
