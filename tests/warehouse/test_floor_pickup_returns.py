"""The pickup counter, uncollected pickups, and returns at any location."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from omnichannel.errors import InvalidTransition
from omnichannel.models import OutboxEvent
from orders.errors import PickupCodeInvalid
from orders.models import OrderEvent
from tests import factories
from tests.warehouse.floor_flow import ACTOR, outbound, pack_all, pick_all
from tests.warehouse.floor_setup import (
    fulfillment_at,
    in_bin,
    last_movement_id,
    level,
    movements,
    place,
    special,
)
from warehouse.checks import bin_violations
from warehouse.errors import ReturnsNotAccepted, TooMany, WrongItem
from warehouse.models import ReturnLine
from warehouse.services import pickup, returns
from warehouse.tasks import cancel_uncollected_pickups

pytestmark = pytest.mark.django_db


def ready_pickup(floor, name="Sam Jansen"):
    order = place(floor, (floor.shoe, 1), pickup=floor.store, email="sam@example.com", name=name)
    fulfillment = fulfillment_at(order, floor.store)
    pick_all(fulfillment)
    pack_all(fulfillment)
    assert fulfillment.status == "ready_for_pickup"
    return order, fulfillment


def test_pickup_is_found_by_code_number_or_name(floor):
    order, fulfillment = ready_pickup(floor)
    assert pickup.pickup_search(floor.store, fulfillment.pickup_code) == [fulfillment]
    assert pickup.pickup_search(floor.store, order.number) == [fulfillment]
    assert pickup.pickup_search(floor.store, "jansen") == [fulfillment]
    assert pickup.pickup_search(floor.wh, "jansen") == []


def test_wrong_code_then_right_code_hands_over(floor):
    order, fulfillment = ready_pickup(floor)
    before = last_movement_id()
    wrong = "000000" if fulfillment.pickup_code != "000000" else "111111"
    with pytest.raises(PickupCodeInvalid):
        pickup.pickup_handover(floor.store, fulfillment.pk, code=wrong, actor=ACTOR)
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.pickup_code_attempts) == ("ready_for_pickup", 1)
    assert last_movement_id() == before
    pickup.pickup_handover(floor.store, fulfillment.pk, code=fulfillment.pickup_code, actor=ACTOR)
    fulfillment.refresh_from_db()
    order.refresh_from_db()
    assert (fulfillment.status, order.status) == ("picked_up", "picked_up")
    shoe = level(floor.shoe, floor.store)
    assert (shoe.on_hand, shoe.reserved) == (2, 0)
    assert movements(floor.shoe, floor.store, before) == [("reserved", -1, "pickup"), ("on_hand", -1, "pickup")]
    assert in_bin(outbound(floor.store), floor.shoe) == 0
    assert bin_violations() == []


def test_uncollected_pickups_are_cancelled_after_the_channels_hold_and_the_customer_told(floor):
    order, fulfillment = ready_pickup(floor)
    assert cancel_uncollected_pickups() == 0  # within the 3 days
    OrderEvent.objects.filter(fulfillment=fulfillment, type="fulfillment.ready_for_pickup").update(
        created_at=timezone.now() - timedelta(days=3, minutes=1))
    assert cancel_uncollected_pickups() == 1
    order.refresh_from_db()
    assert order.status == "cancelled"
    shoe = level(floor.shoe, floor.store)
    assert (shoe.on_hand, shoe.reserved, shoe.available) == (3, 0, 3)
    assert in_bin(outbound(floor.store), floor.shoe) == 0  # back on its shelf
    assert in_bin(floor.bins["S-01"], floor.shoe) == 3
    assert bin_violations() == []
    cancelled = OutboxEvent.objects.get(type="order.cancelled")
    assert "Not collected within 3 days" in cancelled.payload["reason"]
    assert cancel_uncollected_pickups() == 0


def delivered(floor):
    order = place(floor, (floor.shirt, 2), (floor.cap, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    pack_all(fulfillment)
    return order


def test_a_return_at_a_store_restocks_one_unit_and_books_one_damaged(floor):
    order = delivered(floor)
    before = last_movement_id()
    with transaction.atomic():
        ret = returns.return_open(floor.store, order, actor=ACTOR)
        returns.return_scan(ret, floor.shirt.barcode, disposition="restock", actor=ACTOR)
        returns.return_scan(ret, floor.shirt.barcode, disposition="damaged", actor=ACTOR)
        returns.return_scan(ret, floor.cap.barcode, disposition="missing", actor=ACTOR)
    with pytest.raises(TooMany), transaction.atomic():
        returns.return_scan(ret, floor.shirt.barcode, disposition="restock", actor=ACTOR)
    with pytest.raises(WrongItem), transaction.atomic():
        returns.return_scan(ret, floor.shoe.barcode, disposition="restock", actor=ACTOR)
    with transaction.atomic():
        returns.return_receive(ret, actor=ACTOR)
    shirt = level(floor.shirt, floor.store)
    assert (shirt.on_hand, shirt.damaged, shirt.available) == (5, 1, 4)
    assert movements(floor.shirt, floor.store, before) == [("on_hand", 1, "return_restock"),
                                                            ("on_hand", 1, "return_damaged"),
                                                            ("damaged", 1, "return_damaged")]
    assert movements(floor.cap, floor.store, before) == []
    assert in_bin(floor.bins["S-02"], floor.shirt) == 4  # where the tee already lives
    assert in_bin(special(floor.store, "quarantine"), floor.shirt) == 1
    event = order.events.get(type="return.received")
    assert event.payload["return_number"] == ret.number
    outbox = OutboxEvent.objects.get(type="return.received")
    assert sorted((line["sku"], line["quantity"], line["disposition"]) for line in outbox.payload["lines"]) == [
        ("CAP-RED", 1, "missing"), ("TEE-WHT-M", 1, "damaged"), ("TEE-WHT-M", 1, "restock")]
    assert outbox.payload["lines"][0]["unit_price"] == "49.95"
    assert bin_violations() == []


def test_returns_only_where_accepted_and_only_delivered_units(floor):
    order = place(floor, (floor.shirt, 1))
    with pytest.raises(ReturnsNotAccepted), transaction.atomic():
        returns.return_open(floor.wh, order, actor=ACTOR)
    with pytest.raises(Exception, match="Nothing of"), transaction.atomic():
        returns.return_open(floor.store, order, actor=ACTOR)
    assert ReturnLine.objects.count() == 0


def test_a_store_without_bins_takes_returns_too(floor):
    other = factories.StoreFactory(code="ST7", name="Haarlem")
    order = delivered(floor)
    with transaction.atomic():
        ret = returns.return_open(other, order, actor=ACTOR)
        returns.return_scan(ret, floor.cap.code, disposition="restock", actor=ACTOR)
        returns.return_receive(ret, actor=ACTOR)
    assert level(floor.cap, other).on_hand == 1


def test_units_scanned_on_two_open_returns_are_received_once_only(floor):
    other = factories.StoreFactory(code="ST7", name="Haarlem")
    order = delivered(floor)  # one cap delivered
    with transaction.atomic():
        here = returns.return_open(floor.store, order, actor=ACTOR)
        returns.return_scan(here, floor.cap.code, disposition="restock", actor=ACTOR)
    with transaction.atomic():
        there = returns.return_open(other, order, actor=ACTOR)
        returns.return_scan(there, floor.cap.code, disposition="restock", actor=ACTOR)
    with transaction.atomic():
        returns.return_receive(here, actor=ACTOR)
    before = last_movement_id()
    with pytest.raises(TooMany, match="already returned"), transaction.atomic():
        returns.return_receive(there, actor=ACTOR)
    there.refresh_from_db()
    assert there.status == "open"
    assert last_movement_id() == before
    assert OutboxEvent.objects.filter(type="return.received").count() == 1
    assert returns.returned_units(order) == {order.lines.get(sku=floor.cap).pk: 1}


def test_a_mis_scanned_return_is_counted_again_from_the_start(floor):
    order = delivered(floor)
    with transaction.atomic():
        ret = returns.return_open(floor.store, order, actor=ACTOR)
        returns.return_scan(ret, floor.shirt.barcode, disposition="restock", actor=ACTOR, quantity=2)
    # the clerk sees one shirt is torn: the whole count starts over, nothing was booked
    before = last_movement_id()
    with transaction.atomic():
        assert returns.return_clear(ret, actor=ACTOR) == 2
    assert ret.lines.count() == 0 and last_movement_id() == before
    with transaction.atomic():
        returns.return_scan(ret, floor.shirt.barcode, disposition="restock", actor=ACTOR)
        returns.return_scan(ret, floor.shirt.barcode, disposition="damaged", actor=ACTOR)
        returns.return_receive(ret, actor=ACTOR)
    shirt = level(floor.shirt, floor.store)
    assert (shirt.on_hand, shirt.damaged) == (5, 1)
    with pytest.raises(InvalidTransition), transaction.atomic():  # a received return is booked: no start over
        returns.return_clear(ret, actor=ACTOR)
    assert ret.lines.count() == 2
    assert bin_violations() == []


def test_a_return_refused_because_another_took_its_units_can_be_cleared_and_left(floor):
    other = factories.StoreFactory(code="ST7", name="Haarlem")
    order = delivered(floor)
    with transaction.atomic():
        here = returns.return_open(floor.store, order, actor=ACTOR)
        returns.return_scan(here, floor.cap.code, disposition="restock", actor=ACTOR)
        there = returns.return_open(other, order, actor=ACTOR)
        returns.return_scan(there, floor.cap.code, disposition="restock", actor=ACTOR)
        returns.return_receive(here, actor=ACTOR)
    with transaction.atomic():
        returns.return_clear(there, actor=ACTOR)
    with transaction.atomic():  # the shirts can still come back there
        returns.return_scan(there, floor.shirt.code, disposition="restock", actor=ACTOR)
        returns.return_receive(there, actor=ACTOR)
    assert {line.sku.code for line in ReturnLine.objects.filter(return_receipt=there)} == {"TEE-WHT-M"}
