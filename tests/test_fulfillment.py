"""Fulfillment transitions, rejection and re-routing, and staff scoping."""

from __future__ import annotations

import pytest

from inventory.models import StockLevel
from orders.models import Order
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def test_invalid_transition_answers_409_with_the_current_state(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    before = list(StockLevel.objects.values_list("on_hand", "reserved"))
    response = picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/ship/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["current_status"] == "pending"
    assert response.json()["code"] == "invalid_transition"
    assert picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/picked/").json()["current_status"] == "pending"
    fulfillment.refresh_from_db()
    assert fulfillment.status == "pending"
    assert list(StockLevel.objects.values_list("on_hand", "reserved")) == before


def test_pack_needs_a_positive_weight(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    for action in ["accept", "start-picking", "picked"]:
        picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/{action}/")
    response = picker.post(f"/api/v1/fulfillments/{fulfillment.pk}/pack/", {"packages": [{"weight_grams": 0}]},
                           format="json")
    assert response.status_code == 400 and response.json()["field"] == "packages[0].weight_grams"
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked" and fulfillment.packages.count() == 0


def test_a_picker_cannot_see_or_touch_another_locations_work(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    assert fulfillment.location.code == "ST2"
    stranger = picker_client_for(network["ST1"])
    assert stranger.get(f"/api/v1/fulfillments/{fulfillment.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/fulfillments/{fulfillment.pk}/accept/").status_code == 404
    assert stranger.get("/api/v1/fulfillments/").json()["count"] == 0
    assert stranger.get(f"/api/v1/orders/{order.number}/").status_code == 404
    fulfillment.refresh_from_db()
    assert fulfillment.status == "pending"
    own = picker_client_for(network["ST2"])
    assert own.get("/api/v1/fulfillments/").json()["count"] == 1


def test_a_channel_token_cannot_act_on_fulfillments(network, channel_client):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    assert channel_client.post(f"/api/v1/fulfillments/{fulfillment.pk}/accept/").status_code == 403


def test_rejection_releases_the_units_and_routes_again_without_that_location(network, channel_client,
                                                                             picker_client_for):
    shoe, shirt = network["shoe"], network["shirt"]
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    first = order.fulfillments.get()
    assert first.location.code == "ST2"
    picker = picker_client_for(network["ST2"])
    response = picker.post(f"/api/v1/fulfillments/{first.pk}/reject/", {"reason": "capacity", "note": "short-staffed"},
                           format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    order.refresh_from_db()
    live = order.fulfillments.exclude(status="rejected").get()
    assert live.location.code == "WH1"  # the next nearest that holds both lines
    assert StockLevel.objects.get(sku=shoe, location=network["ST2"]).reserved == 0
    assert StockLevel.objects.get(sku=shoe, location=network["WH1"]).reserved == 2
    assert StockLevel.objects.get(sku=shirt, location=network["WH1"]).reserved == 1
    decisions = list(order.routing_decisions.values_list("trigger", "excluded_locations"))
    assert decisions == [("placed", []), ("rejected", [network["ST2"].pk])]
    assert order.status == "allocated"
    bad = picker.post(f"/api/v1/fulfillments/{first.pk}/reject/", {"reason": "bored"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "reason"


def test_a_rejected_part_of_an_order_whose_other_part_shipped_is_routed_again(network, channel_client,
                                                                             picker_client_for):
    """21 shoes: 18 from the warehouse, 3 from a store. The warehouse ships its part, then the
    store rejects: its 3 units must be routed again, not left in no fulfillment while the
    order reads 'shipped' (which the router no longer touches)."""
    from django.core.management import call_command

    order = place(channel_client, ship_order(("RUN-BLK-42", 21)))
    warehouse = order.fulfillments.get(location=network["WH1"])
    store = order.fulfillments.exclude(pk=warehouse.pk).get()
    picker = picker_client_for(network["WH1"])
    base = f"/api/v1/fulfillments/{warehouse.pk}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    picker.post(f"{base}/pack/", {"packages": [{"weight_grams": 9000}]}, format="json")
    assert picker.post(f"{base}/ship/", {}, format="json").json()["status"] == "shipped"
    response = picker_client_for(store.location).post(f"/api/v1/fulfillments/{store.pk}/reject/",
                                                      {"reason": "capacity"}, format="json")
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert list(order.routing_decisions.values_list("trigger", flat=True)) == ["placed", "rejected"]
    live = order.fulfillments.exclude(status__in=["rejected", "cancelled"])
    routed = sum(a.quantity for f in live for a in f.allocations.filter(is_active=True))
    assert routed + sum(order.lines.values_list("backordered_quantity", flat=True)) == 21
    assert order.status == "in_progress"
    assert not live.filter(location=store.location).exists()
    call_command("check_inventory")


def test_rejected_pickup_with_no_other_store_is_backordered(network, channel_client, picker_client_for):
    order = place(channel_client, pickup_order("ST1", ("RUN-BLK-42", 1)))
    fulfillment = order.fulfillments.get()
    picker_client_for(network["ST1"]).post(f"/api/v1/fulfillments/{fulfillment.pk}/reject/",
                                           {"reason": "not_in_stock"}, format="json")
    order.refresh_from_db()
    assert order.status == "backordered"
    assert order.lines.get().backordered_quantity == 1
    assert StockLevel.objects.get(sku=network["shoe"], location=network["ST1"]).reserved == 0


def test_wrong_pickup_codes_lock_the_handover(network, channel_client, picker_client_for):
    order = place(channel_client, pickup_order("ST1", ("RUN-BLK-42", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(network["ST1"])
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    for action in ["accept", "start-picking", "picked"]:
        picker.post(f"{base}/{action}/")
    picker.post(f"{base}/pack/", {"packages": [{"weight_grams": 500}]}, format="json")
    picker.post(f"{base}/ready-for-pickup/")
    fulfillment.refresh_from_db()
    wrong = "000000" if fulfillment.pickup_code != "000000" else "999999"
    answers = [picker.post(f"{base}/collect/", {"code": wrong}, format="json").json() for _ in range(5)]
    assert [a["attempts_left"] for a in answers] == [4, 3, 2, 1, 0]
    locked = picker.post(f"{base}/collect/", {"code": fulfillment.pickup_code}, format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "pickup_code_locked"
    fulfillment.refresh_from_db()
    assert fulfillment.status == "ready_for_pickup"
