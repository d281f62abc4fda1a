"""Packing into boxes, box suggestion, ship with a label, carrier manifest."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.warehouse.floor_flow import ACTOR, outbound, pack_all, pick_all
from tests.warehouse.floor_setup import fulfillment_at, in_bin, level, movements, place
from transport.models import Carrier
from warehouse.checks import bin_violations
from warehouse.errors import CountMismatch, NotReady, TooMany, UnknownCode, WrongItem
from warehouse.models import PackedItem
from warehouse.services import manifest, packing

pytestmark = pytest.mark.django_db


def picked(floor, *lines):
    order = place(floor, *lines)
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    assert fulfillment.status == "picked"
    return order, fulfillment


def pack(fulfillment, code, quantity=1):
    with transaction.atomic():
        return packing.pack_scan(fulfillment, code, quantity=quantity, actor=ACTOR)


def test_find_by_tote_order_or_fulfillment_number(floor):
    order, fulfillment = picked(floor, (floor.shirt, 1))
    tote = fulfillment.totes.get()
    assert packing.packing_find(floor.wh, tote.code) == fulfillment
    assert packing.packing_find(floor.wh, order.number.lower()) == fulfillment
    assert packing.packing_find(floor.wh, fulfillment.number) == fulfillment
    with pytest.raises(UnknownCode):
        packing.packing_find(floor.store, order.number)


def test_wrong_item_or_too_many_records_nothing(floor):
    _, fulfillment = picked(floor, (floor.shirt, 2))
    with pytest.raises(WrongItem):
        pack(fulfillment, floor.shoe.barcode)
    with pytest.raises(TooMany):
        pack(fulfillment, floor.shirt.barcode, quantity=3)
    assert not PackedItem.objects.filter(quantity__gt=0).exists()
    with pytest.raises(NotReady, match="2 unit"), transaction.atomic():
        packing.pack_ship(fulfillment, actor=ACTOR)


def test_the_smallest_box_that_fits_is_suggested(floor):
    _, fulfillment = picked(floor, (floor.shirt, 1), (floor.shoe, 1))
    pack(fulfillment, floor.shirt.barcode)
    box = packing.current_box(fulfillment)
    assert packing.box_suggestion(box).code == "S"  # a tee: 300x250x20 mm
    pack(fulfillment, floor.shoe.barcode)
    assert packing.box_suggestion(box).code == "M"
    assert packing.box_expected_weight(box) == 1100


def test_two_packages_ship_with_one_label_and_stock_leaves(floor):
    order, fulfillment = picked(floor, (floor.shirt, 1), (floor.shoe, 1))
    pack(fulfillment, floor.shirt.barcode)
    with transaction.atomic():
        packing.pack_box_set(packing.current_box(fulfillment), box_type_code="S", weight_grams=350, actor=ACTOR)
        second = packing.pack_new_box(fulfillment, actor=ACTOR)
    pack(fulfillment, floor.shoe.code)
    with transaction.atomic():
        packing.pack_box_set(second, box_type_code="M", actor=ACTOR)
        packing.pack_ship(fulfillment, actor=ACTOR)
    fulfillment.refresh_from_db()
    assert fulfillment.status == "shipped"
    shipment = fulfillment.shipment
    assert shipment.parcel_count == 2 and bytes(shipment.label_pdf).startswith(b"%PDF")
    assert [(p.weight_grams, p.length_cm, p.width_cm, p.height_cm) for p in fulfillment.packages.order_by("pk")] == [
        (350, 32, 26, 13), (1100, 35, 25, 15)]
    order.refresh_from_db()
    assert order.status == "shipped"
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.reserved) == (1, 0)
    assert movements(floor.shoe, floor.wh)[-2:] == [("reserved", -1, "ship"), ("on_hand", -1, "ship")]
    assert in_bin(outbound(floor.wh), floor.shoe) == 0
    assert bin_violations() == []


def test_manifest_takes_this_carriers_packages_and_closes_with_the_count(floor):
    _, fulfillment = picked(floor, (floor.shirt, 1))
    pack_all(fulfillment)
    parcel = fulfillment.shipment.parcels.get()
    with transaction.atomic():
        sheet = manifest.manifest_open(floor.wh, Carrier.objects.get(code="omnipost"))
        manifest.manifest_scan(sheet, parcel.tracking_number, actor=ACTOR)
    with pytest.raises(TooMany), transaction.atomic():
        manifest.manifest_scan(sheet, parcel.tracking_number, actor=ACTOR)
    with pytest.raises(UnknownCode), transaction.atomic():
        manifest.manifest_scan(sheet, "OMNI000", actor=ACTOR)
    with pytest.raises(CountMismatch), transaction.atomic():
        manifest.manifest_close(sheet, counted=2, actor=ACTOR)
    with transaction.atomic():
        closed = manifest.manifest_close(sheet, counted=1, actor=ACTOR)
    assert (closed.status, closed.package_count) == ("closed", 1)
    assert closed.entries.get().package == fulfillment.packages.get()


def test_ship_uses_the_promised_carrier_service(floor):
    order, fulfillment = picked(floor, (floor.shirt, 1))
    type(order).objects.filter(pk=order.pk).update(promise_option="ship:omnipost-express")
    fulfillment.refresh_from_db()
    pack_all(fulfillment)
    assert fulfillment.shipment.service.code == "omnipost-express"


def test_a_barcode_scanned_into_the_weight_field_is_refused(floor):
    _, fulfillment = picked(floor, (floor.shirt, 1))
    pack(fulfillment, floor.shirt.barcode)
    box = packing.current_box(fulfillment)
    with pytest.raises(TooMany, match="grams"), transaction.atomic():
        packing.pack_box_set(box, weight_grams=int(floor.shirt.barcode), actor=ACTOR)
    box.refresh_from_db()
    assert box.weight_grams is None
    with transaction.atomic():
        packing.pack_box_set(box, weight_grams=350, actor=ACTOR)
    box.refresh_from_db()
    assert box.weight_grams == 350
