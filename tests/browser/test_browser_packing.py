"""Packing into two packages by scanning, the label, and the carrier's manifest."""

from __future__ import annotations

import pytest

from tests.browser.conftest import error_text, login, scan, shot, staff
from tests.warehouse.floor_flow import outbound, pick_all
from tests.warehouse.floor_setup import build_floor, fulfillment_at, in_bin, level, movements, place
from warehouse.checks import bin_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_packing_into_two_packages_ships_with_a_label_and_goes_on_the_manifest(page):
    floor = build_floor()
    order = place(floor, (floor.shirt, 1), (floor.shoe, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    tote = fulfillment.totes.get().code
    staff("packer-wh1", floor.wh)
    login(page, "packer-wh1")
    page.goto("/wms/pack/")
    shot(page, "pack-start")
    scan(page, tote)
    assert order.number in page.inner_text("h1")

    scan(page, floor.cap.barcode)  # not in this order
    assert "Unknown item" in error_text(page) or "not in" in error_text(page)
    scan(page, floor.shirt.barcode)
    assert page.inner_text("#suggested").startswith("S ")
    page.select_option("#box_type", "S")
    page.fill("#weight", "350")
    with page.expect_navigation():
        page.click("text=Save box 1")
    with page.expect_navigation():
        page.click("#new-box")
    scan(page, floor.shoe.barcode)
    assert page.inner_text("#suggested").startswith("M ")
    with page.expect_navigation():
        page.click("text=Save box 2")
    shot(page, "pack-boxes")
    with page.expect_navigation():
        page.click("#ship")
    assert "Shipped" in page.inner_text("#shipped")
    shot(page, "pack-shipped")
    label = page.request.get(page.get_attribute("#label", "href"))
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF")
    slip = page.request.get(f"/wms/pack/{fulfillment.pk}/slip.pdf")
    assert slip.body().startswith(b"%PDF")

    fulfillment.refresh_from_db()
    order.refresh_from_db()
    assert (fulfillment.status, order.status) == ("shipped", "shipped")
    assert [(p.weight_grams, p.length_cm) for p in fulfillment.packages.order_by("pk")] == [(350, 32), (1100, 35)]
    assert fulfillment.shipment.parcel_count == 2
    shoe, shirt = level(floor.shoe, floor.wh), level(floor.shirt, floor.wh)
    assert (shoe.on_hand, shoe.reserved, shirt.on_hand, shirt.reserved) == (1, 0, 9, 0)
    assert movements(floor.shirt, floor.wh)[-2:] == [("reserved", -1, "ship"), ("on_hand", -1, "ship")]
    assert in_bin(outbound(floor.wh), floor.shoe) == 0 and bin_violations() == []

    page.goto("/wms/manifest/")
    parcels = list(fulfillment.shipment.parcels.order_by("sequence").values_list("tracking_number", flat=True))
    scan(page, parcels[0])
    scan(page, parcels[0])
    assert "already on a manifest" in error_text(page)
    scan(page, parcels[1])
    assert page.inner_text("#count") == "2"
    shot(page, "manifest")
    page.fill("#counted", "2")
    with page.expect_navigation():
        page.click("text=Close manifest")
    assert "closed with 2 package" in page.inner_text("main")
