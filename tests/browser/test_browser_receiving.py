"""Receiving a supplier's notice by scanning, closing with a discrepancy, putaway by bin scan."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.browser.conftest import error_text, login, scan, shot, staff
from tests.warehouse.floor_setup import build_floor, in_bin, level, special
from warehouse.checks import bin_violations
from warehouse.services import receiving

pytestmark = pytest.mark.django_db(transaction=True)


def test_receive_close_and_put_away(page):
    floor = build_floor()
    with transaction.atomic():
        receipt = receiving.receipt_create_supplier(
            floor.wh, supplier="Omni Footwear BV", reference="ASN-77",
            lines=[receiving.ExpectedLine(floor.shoe, 3)], actor="ops:ops")
    staff("picker-wh1", floor.wh)
    login(page, "picker-wh1")
    page.goto("/wms/receiving/")
    shot(page, "receiving-list")
    with page.expect_navigation():
        page.click(f"text={receipt.number}")
    scan(page, floor.shoe.barcode)
    scan(page, floor.shoe.barcode)
    scan(page, "nonsense")
    assert "No item" in error_text(page)
    shot(page, "receiving")
    assert level(floor.shoe, floor.wh).quality_control == 2
    with page.expect_navigation():
        page.click("text=Close receipt")
    assert "Under -1" in page.inner_text("table")
    page.goto("/wms/receiving/")
    with page.expect_navigation():
        page.click("text=Runner One black 42")
    assert "A-03-2" in page.inner_text(".bin")
    shot(page, "putaway")
    scan(page, "WH1-RECV")
    assert "not a storage bin" in error_text(page)
    scan(page, "WH1-A-03-2")
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.quality_control, shoe.available) == (4, 0, 4)
    assert in_bin(floor.bins["A-03-2"], floor.shoe) == 4 and in_bin(special(floor.wh, "receiving"), floor.shoe) == 0
    assert bin_violations() == []
