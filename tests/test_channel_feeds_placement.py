"""A channel sells only from its feeding locations: its orders are placed against their stock
and routed among them, as its availability and promises show (orders/services/selling.py).

The network (tests/conftest.py): WH1 holds shoes and shirts; ST1 shoes; ST2, the nearest to the
address, shoes and shirts; ST9, far away, shirts. Without feeds an order of shoes and a shirt
ships whole from ST2."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory.models import Reservation, StockLevel
from orders.models import Order
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def placed(response) -> Order:
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def held_at(order: Order) -> set[str]:
    return set(Reservation.objects.filter(status="open", reference_id__in=[
        str(pk) for pk in order.lines.values_list("pk", flat=True)]).values_list("stock_level__location__code", flat=True))


def post(client, body):
    return client.post("/api/v1/orders/", body, format="json")


def test_an_order_is_routed_among_its_channels_feeding_locations_only(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["WH1"], network["ST9"]])
    order = placed(post(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1))))
    order.refresh_from_db()
    assert order.status == "allocated"
    assert set(order.fulfillments.values_list("location__code", flat=True)) == {"WH1"}
    assert held_at(order) == {"WH1"}
    decision = order.routing_decisions.get()
    assert {c["location"] for c in decision.candidates} == {"WH1", "ST9"}  # ST1, ST2: not the channel's
    assert StockLevel.objects.get(location=network["ST2"], sku=network["shoe"]).reserved == 0


def test_stock_outside_the_feed_does_not_count_for_a_storefront(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["ST1"]])  # shoes only
    before = Order.objects.count()
    response = post(channel_client, ship_order(("TEE-WHT-M", 1)))
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["short_lines"] == [{"sku": "TEE-WHT-M", "requested": 1, "available": 0}]
    assert Order.objects.count() == before
    assert not Reservation.objects.exists()
    shoes = placed(post(channel_client, ship_order(("RUN-BLK-42", 3), email="noor@example.com")))
    assert set(shoes.fulfillments.values_list("location__code", flat=True)) == {"ST1"}
    assert post(channel_client, ship_order(("RUN-BLK-42", 1), email="joe@example.com")).status_code == 409  # all 3 sold


def test_a_marketplace_order_backorders_rather_than_take_stock_it_was_not_shown(network, marketplace,
                                                                                 marketplace_client):
    marketplace.feeding_locations.set([network["ST1"]])
    order = placed(post(marketplace_client, ship_order(("TEE-WHT-M", 2))))
    order.refresh_from_db()
    assert order.status == "backordered"
    assert order.lines.get().backordered_quantity == 2
    assert not Reservation.objects.filter(status="open").exists()
    assert not order.fulfillments.exists()


def test_pickup_only_at_a_location_that_sells_for_the_channel(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["ST1"]])
    before = Order.objects.count()
    response = post(channel_client, pickup_order("ST2", ("RUN-BLK-42", 1)))
    assert response.status_code == 400
    assert response.json()["field"] == "pickup_location"
    assert "does not sell for this channel" in response.json()["detail"]
    assert Order.objects.count() == before
    order = placed(post(channel_client, pickup_order("ST1", ("RUN-BLK-42", 1))))
    assert set(order.fulfillments.values_list("location__code", flat=True)) == {"ST1"}


def test_a_change_of_feeds_applies_to_the_next_order(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["WH1"]])
    first = placed(post(channel_client, ship_order(("RUN-BLK-42", 1))))
    web_channel.feeding_locations.clear()  # every location again
    second = placed(post(channel_client, ship_order(("RUN-BLK-42", 1), email="noor@example.com")))
    assert set(first.fulfillments.values_list("location__code", flat=True)) == {"WH1"}
    assert set(second.fulfillments.values_list("location__code", flat=True)) == {"ST1"}  # the nearest shoe


def test_a_channel_without_feeds_sells_from_every_location(network, channel_client, marketplace, marketplace_client):
    marketplace.feeding_locations.set([network["WH1"]])  # another channel's feeds change nothing here
    order = placed(post(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1))))
    assert set(order.fulfillments.values_list("location__code", flat=True)) == {"ST2"}


def test_a_rejection_routes_again_among_the_channels_locations_only(network, web_channel, channel_client,
                                                                    picker_client_for):
    web_channel.feeding_locations.set([network["ST1"], network["WH1"]])
    order = placed(post(channel_client, ship_order(("RUN-BLK-42", 2))))
    first = order.fulfillments.get()
    assert first.location.code == "ST1"  # the nearest of the two
    picker = picker_client_for(network["ST1"])
    response = picker.post(f"/api/v1/fulfillments/{first.pk}/reject/", {"reason": "capacity"}, format="json")
    assert response.status_code == 200, response.content
    again = order.fulfillments.exclude(pk=first.pk).get()
    assert again.location.code == "WH1"  # not ST2, nearer but not the channel's
    web_channel.feeding_locations.set([network["ST1"]])
    other = placed(post(channel_client, ship_order(("RUN-BLK-42", 1), email="noor@example.com")))
    lone = other.fulfillments.get()
    assert lone.location.code == "ST1"
    response = picker.post(f"/api/v1/fulfillments/{lone.pk}/reject/", {"reason": "capacity"}, format="json")
    assert response.status_code == 200, response.content
    other.refresh_from_db()
    assert other.status == "backordered"  # held, visibly, rather than sold from elsewhere
    assert not other.fulfillments.exclude(pk=lone.pk).exists()


def test_a_backorder_waits_for_stock_at_its_channels_locations(network, marketplace, marketplace_client):
    from inventory.services import stock_receive
    from orders.tasks import reroute_backordered

    marketplace.feeding_locations.set([network["ST1"]])
    order = placed(post(marketplace_client, ship_order(("TEE-WHT-M", 1))))
    decisions = order.routing_decisions.count()
    with transaction.atomic():  # shirts arrive at the DC: not the channel's
        stock_receive(sku=network["shirt"], location=network["WH1"], quantity=5, actor="test")
    assert reroute_backordered() == 0
    assert order.routing_decisions.count() == decisions  # not tried again for stock it cannot sell
    with transaction.atomic():
        stock_receive(sku=network["shirt"], location=network["ST1"], quantity=1, actor="test")
    assert reroute_backordered() == 1
    order.refresh_from_db()
    assert order.status == "allocated"
    assert set(order.fulfillments.values_list("location__code", flat=True)) == {"ST1"}
