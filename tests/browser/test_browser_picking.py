"""A batch pick of three orders by scanning, with a wrong scan and a short pick that re-routes."""

from __future__ import annotations

import pytest

from orders.models import Order
from tests.browser.conftest import error_text, login, scan, shot, staff
from tests.warehouse.floor_setup import (
    build_floor,
    fulfillment_at,
    in_bin,
    last_movement_id,
    level,
    movements,
    place,
)
from warehouse.checks import bin_violations
from warehouse.models import PickList, PickTask

pytestmark = pytest.mark.django_db(transaction=True)


def test_batch_pick_of_three_orders_with_a_wrong_scan_and_a_short_pick(page):
    floor = build_floor()
    o1 = place(floor, (floor.shoe, 1), (floor.shirt, 1))
    o2 = place(floor, (floor.shirt, 2), email="ann@example.com", name="Ann")
    o3 = place(floor, (floor.cap, 1), (floor.shoe, 1), email="bob@example.com", name="Bob")
    staff("ops", None, role="ops")
    page.goto("/wms/login/")
    shot(page, "login")
    login(page, "ops", landing="**/wms/location/")
    page.select_option("select[name=code]", "WH1")
    with page.expect_navigation():
        page.click("text=Work here")
    page.goto("/wms/waves/")
    page.select_option("#delivery_method", "ship")
    page.fill("#batch_size", "3")
    with page.expect_navigation():
        page.click("text=Release wave")
    assert "Wave WV-" in page.inner_text("main") and "1 pick list" in page.inner_text("main")
    shot(page, "waves")
    pick_list = PickList.objects.get()
    assert [t.fulfillment.order_id for t in pick_list.totes.all()] == [o1.pk, o2.pk, o3.pk]
    with page.expect_navigation():
        page.click("text=Log out")

    staff("picker-wh1", floor.wh)
    login(page, "picker-wh1")
    shot(page, "home")
    page.click("text=Pick lists")
    shot(page, "pick-lists")
    page.click(f"text={pick_list.number}")

    # 1: tee for tote 1 at A-01-1; a wrong bin first
    assert page.inner_text("#bin-code") == "A-01-1"
    shot(page, "pick-go-to-bin")
    before = last_movement_id()
    scan(page, "WH1-A-02-1")
    assert "Wrong bin" in error_text(page) and "A-01-1" in error_text(page)
    shot(page, "pick-wrong-scan")
    scan(page, "WH1-A-01-1")
    assert "scan the item" in page.inner_text("form.card")
    scan(page, floor.shoe.barcode)  # wrong item
    assert "Wrong item" in error_text(page)
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 10 and last_movement_id() == before
    assert fulfillment_at(o1, floor.wh).status == "accepted"
    scan(page, floor.shirt.barcode)
    assert fulfillment_at(o1, floor.wh).status == "picking"
    shot(page, "pick-scan-item")

    # 2: two tees for tote 2, same bin (still confirmed): a quantity
    assert page.inner_text("#pick-qty") == "2"
    page.fill("#quantity", "2")
    page.press("#quantity", "Enter")  # back to the scan input
    scan(page, floor.shirt.code)
    # 3: cap for tote 3
    assert page.inner_text("#bin-code") == "A-02-1"
    scan(page, "WH1-A-02-1")
    scan(page, floor.cap.barcode)
    # 4: shoe for tote 1
    assert page.inner_text("#bin-code") == "A-03-2" and page.inner_text("#tote").endswith("-T1")
    scan(page, "WH1-A-03-2")
    scan(page, floor.shoe.barcode)
    # 5: shoe for tote 3: the bin is empty
    assert page.inner_text("#tote").endswith("-T3")
    page.click("text=The bin holds fewer?")
    shot(page, "pick-short")
    with page.expect_navigation():
        page.click("button[value=not_found]")
    assert "done" in page.inner_text("main")
    shot(page, "pick-done")

    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.reserved) == (1, 1)
    assert movements(floor.shoe, floor.wh, before) == [("reserved", -1, "short_pick"), ("on_hand", -1, "lost")]
    assert movements(floor.shirt, floor.wh, before) == []  # picking moves bins, not the ledger
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 7
    o3.refresh_from_db()
    assert o3.routing_decisions.last().trigger == "short_pick"
    elsewhere = o3.fulfillments.exclude(location=floor.wh).get()
    assert elsewhere.status == "pending" and elsewhere.allocations.get(is_active=True).order_line.sku == floor.shoe
    for order in (o1, o2, o3):
        assert fulfillment_at(order, floor.wh).status == "picked"
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS
    assert PickTask.objects.filter(pick_list=pick_list, status="short").count() == 1
    assert bin_violations() == []
