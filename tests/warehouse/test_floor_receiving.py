"""Receiving against transfers and supplier notices, discrepancies, putaway."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory.models import Transfer
from inventory.services import TransferLineInput, transfer_request, transfer_ship
from tests import factories
from tests.conftest import requires_postgres, run_at_once
from tests.warehouse.floor_setup import in_bin, level, movements, special
from warehouse.checks import bin_violations
from warehouse.errors import TooMany, WrongBin
from warehouse.models import Receipt
from warehouse.services import receiving

pytestmark = pytest.mark.django_db
ACTOR = "picker:test"


def asn(floor, *lines):
    with transaction.atomic():
        return receiving.receipt_create_supplier(floor.wh, supplier="Omni Footwear BV", reference="ASN-77",
                                                 lines=[receiving.ExpectedLine(s, q) for s, q in lines], actor=ACTOR)


def scan(receipt, code, quantity=1):
    with transaction.atomic():
        return receiving.receipt_scan(receipt, code, quantity=quantity, actor=ACTOR)


def test_received_units_are_not_sellable_until_put_away(floor):
    receipt = asn(floor, (floor.shoe, 3))
    scan(receipt, floor.shoe.barcode)
    scan(receipt, floor.shoe.code, quantity=2)
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.quality_control, shoe.available) == (5, 3, 2)
    assert in_bin(special(floor.wh, "receiving"), floor.shoe) == 3
    line = receipt.lines.get()
    assert receiving.putaway_suggestion(floor.wh.pk, floor.shoe).code == "A-03-2"  # where it already lives
    with pytest.raises(WrongBin), transaction.atomic():
        receiving.putaway_confirm(line, "WH1-PACK", actor=ACTOR)
    with pytest.raises(TooMany), transaction.atomic():
        receiving.putaway_confirm(line, "WH1-A-03-2", quantity=4, actor=ACTOR)
    with transaction.atomic():
        receiving.putaway_confirm(line, "WH1-A-03-2", actor=ACTOR)
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.quality_control, shoe.available) == (5, 0, 5)
    assert in_bin(floor.bins["A-03-2"], floor.shoe) == 5
    assert movements(floor.shoe, floor.wh)[-1] == ("quality_control", -3, "putaway")
    assert bin_violations() == []


def test_a_new_sku_goes_to_an_empty_bin(floor):
    sock = factories.SkuFactory(code="SOCK-1")
    receipt = asn(floor, (sock, 1))
    scan(receipt, "SOCK-1")
    assert receiving.putaway_suggestion(floor.wh.pk, sock).code == "A-04-1"


def test_closing_records_over_under_and_unexpected(floor):
    receipt = asn(floor, (floor.shoe, 3), (floor.shirt, 2))
    scan(receipt, floor.shoe.barcode, quantity=4)
    scan(receipt, floor.shirt.barcode)
    scan(receipt, floor.cap.barcode)
    with transaction.atomic():
        receiving.receipt_close(receipt, actor=ACTOR)
    lines = {line.sku.code: (line.discrepancy, line.discrepancy_units) for line in receipt.lines.all()}
    assert lines == {"RUN-BLK-42": ("over", 1), "TEE-WHT-M": ("under", -1), "CAP-RED": ("unexpected", 1)}
    receipt.refresh_from_db()
    assert receipt.status == "closed"


def test_a_transfer_is_received_through_its_receipt(floor):
    with transaction.atomic():
        transfer = transfer_request(floor.wh2, floor.wh, [TransferLineInput(floor.cap, 3)], actor=ACTOR)
        transfer = transfer_ship(transfer, actor=ACTOR)
        receipt = receiving.receipt_for_transfer(transfer, actor=ACTOR)
    assert receipt.source == Receipt.Source.TRANSFER and receipt.lines.get().expected_quantity == 3
    scan(receipt, floor.cap.barcode, quantity=2)
    cap = level(floor.cap, floor.wh)
    assert (cap.on_hand, cap.incoming, cap.quality_control) == (6, 1, 2)
    with transaction.atomic():
        receiving.receipt_close(receipt, actor=ACTOR)
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert level(floor.cap, floor.wh).incoming == 0
    assert receipt.lines.get().discrepancy == "under"
    assert movements(floor.cap, floor.wh)[1:] == [("incoming", 3, "transfer_in_transit"),
                                                  ("incoming", -2, "transfer_receive"),
                                                  ("on_hand", 2, "transfer_receive"),
                                                  ("quality_control", 2, "receiving"),
                                                  ("incoming", -1, "transfer_shortfall")]
    assert bin_violations() == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_taps_at_once_on_a_shipped_transfer_make_one_receipt(floor):
    with transaction.atomic():
        transfer = transfer_request(floor.wh2, floor.wh, [TransferLineInput(floor.cap, 3)], actor=ACTOR)
        transfer = transfer_ship(transfer, actor=ACTOR)
    found, errors = [], []

    def tap():
        try:
            with transaction.atomic():
                found.append(receiving.receipt_for_transfer(Transfer.objects.get(pk=transfer.pk), actor=ACTOR).pk)
        except Exception as exc:  # noqa: BLE001 - any failure is the bug
            errors.append(exc)

    run_at_once(tap, 4)
    assert errors == []
    assert len(found) == 4 and len(set(found)) == 1
    assert Receipt.objects.filter(transfer_id=transfer.pk).count() == 1
