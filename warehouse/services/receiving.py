"""Receiving and putaway. Scanned units are booked at once: on_hand rises and the units
sit in quality control in the receiving bin, so they cannot be sold until a putaway moves
them into a storage bin (quality control -> sellable). Closing a receipt records each
line's over/under/unexpected units. Lock order: the receipt row, then stock levels
(inventory), then bin rows. Callers hold a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import Location, Sku, StockLevel, Transfer
from omnichannel.errors import InvalidTransition, ValidationFailed
from warehouse import engine
from warehouse.errors import TooMany, WrongBin
from warehouse.models import Bin, BinStock, Receipt, ReceiptLine
from warehouse.services.binstock import (
    bin_move,
    bins_units_arrived,
    floor_books_bins,
    location_has_bins,
    special_bin,
)
from warehouse.services.numbers import new_number
from warehouse.services.scan import bin_by_scan, sku_by_scan

R = Receipt.Status
D = ReceiptLine.Discrepancy
QC_REASON = "receiving"
PUTAWAY_REASON = "putaway"
MAX_UNITS = 1_000_000  # per scan or notice line, as inventory's API: a barcode typed as a quantity is refused


@dataclass(frozen=True)
class ExpectedLine:
    sku: Sku
    quantity: int


def receipt_for_transfer(transfer: Transfer, *, actor: str) -> Receipt:
    """The expected receipt of a shipped transfer at its destination (made once: the
    transfer's row is locked first, so two taps at once find one receipt, not a 500).
    Caller holds a transaction."""
    Transfer.objects.select_for_update().filter(pk=transfer.pk).first()
    existing = Receipt.objects.filter(transfer=transfer).first()
    if existing is not None:
        return existing
    if transfer.status not in {Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED}:
        raise InvalidTransition("transfer", transfer.status, "receive")
    receipt = Receipt.objects.create(number=new_number("RC"), location=transfer.destination,
                                     source=Receipt.Source.TRANSFER, transfer=transfer, reference=transfer.number,
                                     supplier=transfer.source.name, created_by=actor[:100])
    ReceiptLine.objects.bulk_create([
        ReceiptLine(receipt=receipt, sku_id=line.sku_id, expected_quantity=line.outstanding)
        for line in transfer.lines.order_by("pk") if line.outstanding > 0])
    return receipt


def receipt_create_supplier(location: Location, *, supplier: str, reference: str,
                            lines: Sequence[ExpectedLine], actor: str) -> Receipt:
    """A supplier's advance shipping notice, entered by ops or by API."""
    if not lines:
        raise ValidationFailed("An advance notice needs at least one line.", field="lines")
    seen: set[int] = set()
    for index, line in enumerate(lines):
        if not 0 < line.quantity <= MAX_UNITS:
            raise ValidationFailed(f"Quantity must be a whole number from 1 to {MAX_UNITS}.",
                                   field=f"lines[{index}].quantity")
        if line.sku.pk in seen:
            raise ValidationFailed(f"{line.sku.code} is on the notice twice.", field=f"lines[{index}].sku")
        seen.add(line.sku.pk)
    receipt = Receipt.objects.create(number=new_number("RC"), location=location, source=Receipt.Source.SUPPLIER,
                                     supplier=supplier[:100], reference=reference[:64], created_by=actor[:100])
    ReceiptLine.objects.bulk_create([ReceiptLine(receipt=receipt, sku=line.sku, expected_quantity=line.quantity)
                                     for line in lines])
    return receipt


def _lock_open(receipt_id: int) -> Receipt:
    receipt = Receipt.objects.select_for_update(of=("self",)).select_related("location", "transfer").get(pk=receipt_id)
    if receipt.status == R.CLOSED:
        raise InvalidTransition("receipt", receipt.status, "receive into")
    return receipt


def receipt_scan(receipt: Receipt, code: str, *, quantity: int = 1, actor: str) -> ReceiptLine:
    """Count scanned units in: on_hand +n into quality control, in the receiving bin. An
    item not on the receipt gets its own line (expected 0: unexpected)."""
    if not 0 < quantity <= MAX_UNITS:
        raise ValidationFailed(f"Quantity must be a whole number from 1 to {MAX_UNITS}.", field="quantity")
    receipt = _lock_open(receipt.pk)
    sku = sku_by_scan(code)
    line, _ = ReceiptLine.objects.get_or_create(receipt=receipt, sku=sku)
    _book_arrival(receipt, sku, quantity, actor)
    ReceiptLine.objects.filter(pk=line.pk).update(received_quantity=F("received_quantity") + quantity)
    if receipt.status == R.EXPECTED:
        Receipt.objects.filter(pk=receipt.pk).update(status=R.RECEIVING)
    line.refresh_from_db()
    return line


def _book_arrival(receipt: Receipt, sku: Sku, quantity: int, actor: str) -> None:
    with floor_books_bins():
        _book_stock(receipt, sku, quantity, actor)
    bins_units_arrived(receipt.location_id, sku.pk, quantity)


def _book_stock(receipt: Receipt, sku: Sku, quantity: int, actor: str) -> None:
    transfer = receipt.transfer
    on_transfer = transfer is not None and transfer.lines.filter(sku=sku).exists()
    if on_transfer and transfer is not None and transfer.status in {Transfer.Status.SHIPPED,
                                                                    Transfer.Status.PARTIALLY_RECEIVED}:
        inventory_services.transfer_receive(transfer, {sku.code: quantity}, actor=actor,
                                            note=f"receipt {receipt.number}")
        transfer.refresh_from_db()
    else:
        inventory_services.stock_receive(sku=sku, location=receipt.location, quantity=quantity,
                                         reason="receive", reference_type="receipt", reference_id=receipt.number,
                                         actor=actor)
    level = StockLevel.objects.get(sku=sku, location=receipt.location)
    inventory_services.stock_move_state(level, "available", "quality_control", quantity, QC_REASON, actor=actor,
                                        note=f"receipt {receipt.number}: waiting for putaway")


def receipt_close(receipt: Receipt, *, actor: str) -> Receipt:
    """Record each line's discrepancy (received - expected) and close; a transfer's own
    receipt is closed too (what never arrived stops being incoming)."""
    receipt = _lock_open(receipt.pk)
    transfer = receipt.transfer
    if transfer is not None and transfer.status in {Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED}:
        with floor_books_bins():
            inventory_services.transfer_receive(transfer, {}, close=True, actor=actor,
                                                note=f"receipt {receipt.number} closed")
    for line in receipt.lines.all():
        units = line.received_quantity - line.expected_quantity
        kind = (D.UNEXPECTED if line.expected_quantity == 0 else D.OVER if units > 0
                else D.UNDER if units < 0 else D.NONE)
        ReceiptLine.objects.filter(pk=line.pk).update(discrepancy=kind, discrepancy_units=units)
    Receipt.objects.filter(pk=receipt.pk).update(status=R.CLOSED, closed_at=timezone.now())
    receipt.refresh_from_db()
    return receipt


# --- putaway -------------------------------------------------------------------------------------------


def putaway_suggestion(location_id: int, sku: Sku) -> Bin | None:
    """Where the SKU already lives, else an empty bin in the zone its product lives in,
    else any empty storage bin (engine.suggest_putaway_bin)."""
    bins = list(Bin.objects.filter(location_id=location_id, kind=Bin.Kind.STORAGE, is_active=True)
                .select_related("zone"))
    if not bins:
        return None
    stock = BinStock.objects.filter(bin__in=bins, quantity__gt=0)
    of_sku: dict[int, int] = {}
    total: dict[int, int] = {}
    zone_of_product = None
    for bin_id, sku_id, product_id, qty in stock.values_list("bin_id", "sku_id", "sku__product_id", "quantity"):
        total[bin_id] = total.get(bin_id, 0) + qty
        if sku_id == sku.pk:
            of_sku[bin_id] = of_sku.get(bin_id, 0) + qty
        if product_id == sku.product_id and zone_of_product is None:
            zone_of_product = next(b.zone.code for b in bins if b.pk == bin_id)
    specs = [engine.BinSpec(b.pk, b.zone.code, b.pick_sequence, of_sku.get(b.pk, 0), total.get(b.pk, 0))
             for b in bins]
    chosen = engine.suggest_putaway_bin(specs, zone_of_product)
    return next((b for b in bins if b.pk == chosen), None)


def putaway_confirm(line: ReceiptLine, bin_code: str, *, quantity: int | None = None, actor: str) -> ReceiptLine:
    """Put received units away into the scanned storage bin: quality control -> sellable,
    receiving bin -> that bin. A bin of another location or not a storage bin: WrongBin,
    nothing recorded."""
    receipt = Receipt.objects.select_for_update(of=("self",)).select_related("location").get(pk=line.receipt_id)
    line = ReceiptLine.objects.select_related("sku").get(pk=line.pk)
    quantity = line.waiting_for_putaway if quantity is None else quantity
    if quantity <= 0 or quantity > line.waiting_for_putaway:
        raise TooMany(f"{line.waiting_for_putaway} unit(s) of {line.sku.code} wait for putaway.", field="quantity")
    target = None
    if location_has_bins(receipt.location_id):
        target = bin_by_scan(receipt.location_id, bin_code)
        if target is None or target.kind != Bin.Kind.STORAGE:
            raise WrongBin(f"{bin_code!r} is not a storage bin here: scan the bin you put the units in.",
                           field="bin")
    level = StockLevel.objects.get(sku=line.sku, location=receipt.location)
    with floor_books_bins():
        inventory_services.stock_move_state(level, "quality_control", "available", quantity, PUTAWAY_REASON,
                                            actor=actor,
                                            note=f"receipt {receipt.number} into {getattr(target, 'code', '-')}")
    if target is not None:
        receiving = special_bin(receipt.location_id, Bin.Kind.RECEIVING)
        if receiving is not None:
            bin_move(receiving.pk, target.pk, line.sku_id, quantity, what=line.sku.code)
    updated = ReceiptLine.objects.filter(pk=line.pk, put_away_quantity__lte=F("received_quantity") - quantity) \
        .update(put_away_quantity=F("put_away_quantity") + quantity)
    if not updated:
        raise TooMany("Those units were put away meanwhile.", field="quantity")
    line.refresh_from_db()
    return line
