"""The store counter: a pickup handover with a wrong then the right code, and a return
with two dispositions."""

from __future__ import annotations

import pytest

from omnichannel.models import OutboxEvent
from tests.browser.conftest import error_text, login, scan, shot, staff
from tests.warehouse.floor_flow import outbound, pack_all, pick_all
from tests.warehouse.floor_setup import (
    build_floor,
    fulfillment_at,
    in_bin,
    last_movement_id,
    level,
    movements,
    place,
    special,
)
from warehouse.checks import bin_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_pickup_handover_with_a_wrong_then_the_right_code(page):
    floor = build_floor()
    order = place(floor, (floor.shoe, 1), pickup=floor.store, email="sam@example.com", name="Sam Jansen")
    fulfillment = fulfillment_at(order, floor.store)
    pick_all(fulfillment)
    pack_all(fulfillment)
    assert fulfillment.status == "ready_for_pickup"
    before = last_movement_id()
    staff("picker-st1", floor.store)
    login(page, "picker-st1")
    page.goto("/wms/pickup/")
    shot(page, "pickup-search")
    scan(page, "jansen")
    assert order.number in page.inner_text("h1")
    wrong = "000000" if fulfillment.pickup_code != "000000" else "111111"
    scan(page, wrong)
    assert "Wrong pickup code" in error_text(page)
    shot(page, "pickup-wrong-code")
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.pickup_code_attempts) == ("ready_for_pickup", 1)
    assert last_movement_id() == before
    scan(page, fulfillment.pickup_code)
    assert "Handed over" in page.inner_text("#handed-over")
    shot(page, "pickup-handed-over")
    fulfillment.refresh_from_db()
    order.refresh_from_db()
    assert (fulfillment.status, order.status) == ("picked_up", "picked_up")
    shoe = level(floor.shoe, floor.store)
    assert (shoe.on_hand, shoe.reserved) == (2, 0)
    assert movements(floor.shoe, floor.store, before) == [("reserved", -1, "pickup"), ("on_hand", -1, "pickup")]
    assert in_bin(outbound(floor.store), floor.shoe) == 0 and bin_violations() == []


def test_a_return_with_two_dispositions(page):
    floor = build_floor()
    order = place(floor, (floor.shirt, 2))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    pack_all(fulfillment)
    before = last_movement_id()
    staff("picker-st1", floor.store)
    login(page, "picker-st1")
    page.goto("/wms/returns/")
    shot(page, "returns-start")
    scan(page, order.number)
    scan(page, floor.shirt.barcode)  # restock (the default)
    page.click("text=Damaged")
    page.locator("input.scan").focus()
    scan(page, floor.shirt.barcode)
    scan(page, floor.shirt.barcode)
    assert "already on a return" in error_text(page)
    scan(page, floor.shoe.barcode)
    assert "not on this order" in error_text(page)
    shot(page, "return-scanned")
    with page.expect_navigation():
        page.click("#receive")
    assert "received" in page.inner_text("#received")
    shot(page, "return-received")

    shirt = level(floor.shirt, floor.store)
    assert (shirt.on_hand, shirt.damaged, shirt.available) == (5, 1, 4)
    assert movements(floor.shirt, floor.store, before) == [("on_hand", 1, "return_restock"),
                                                            ("on_hand", 1, "return_damaged"),
                                                            ("damaged", 1, "return_damaged")]
    assert in_bin(floor.bins["S-02"], floor.shirt) == 4
    assert in_bin(special(floor.store, "quarantine"), floor.shirt) == 1
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.events.filter(type="return.received").count() == 1
    event = OutboxEvent.objects.get(type="return.received")
    assert sorted((line["disposition"], line["quantity"]) for line in event.payload["lines"]) == [
        ("damaged", 1), ("restock", 1)]
    assert bin_violations() == []
