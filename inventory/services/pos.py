"""Sales at a store's till: the units leave that store's on_hand at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q

from inventory.errors import InsufficientStock, NotAStore, QuantityInvalid, ReceiptReused, Shortage
from inventory.models import Location, PosReceipt, Sku, StockLevel
from inventory.services import ledger
from inventory.services.ledger import Ref, State
from inventory.services.stock import apply_releasing_expired_holds
from omnichannel.errors import ValidationFailed


@dataclass(frozen=True)
class PosSaleResult:
    receipt: PosReceipt
    created: bool  # False: this receipt was already booked; nothing changed this time


def pos_sale(location: Location, lines: Sequence[tuple[Sku, int]], receipt_id: str, *, actor: str = "",
             channel_code: str = "") -> PosSaleResult:
    """Book a till receipt at a store: each line's units leave on_hand ("pos_sale"), taking only
    available units (never a unit promised to an order). Idempotent per (location, receipt_id):
    the receipt row is inserted first under a unique constraint, so the same receipt sent twice,
    even at once, is sold once; the same id with other lines is a 409. All lines or none
    (InsufficientStock; the caller rolls back). Caller holds a transaction."""
    if location.kind != Location.Kind.STORE:
        raise NotAStore(f"{location.code} is not a store; POS sales happen at stores.", field="location")
    if not receipt_id or len(receipt_id) > 64:
        raise ValidationFailed("Give the receipt id (at most 64 characters).", field="receipt_id")
    wanted = _merge(lines)
    record = [{"sku": sku.code, "quantity": qty} for sku, qty in sorted(wanted.values(), key=lambda x: x[0].code)]
    try:
        with transaction.atomic():
            receipt = PosReceipt.objects.create(location=location, receipt_id=receipt_id, lines=record,
                                                actor=actor[:100], channel_code=channel_code)
    except IntegrityError:
        existing = PosReceipt.objects.get(location=location, receipt_id=receipt_id)
        if existing.lines != record:
            raise ReceiptReused(f"Receipt {receipt_id} was already booked with other lines.",
                                field="receipt_id") from None
        return PosSaleResult(existing, created=False)
    _take(location, wanted, Ref("pos_receipt", receipt_id), actor)
    return PosSaleResult(receipt, created=True)


def _merge(lines: Sequence[tuple[Sku, int]]) -> dict[int, tuple[Sku, int]]:
    if not lines:
        raise ValidationFailed("A sale needs at least one line.", field="lines")
    merged: dict[int, int] = defaultdict(int)
    skus: dict[int, Sku] = {}
    for index, (sku, qty) in enumerate(lines):
        if qty <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field=f"lines[{index}].quantity")
        merged[sku.pk] += qty
        skus[sku.pk] = sku
    return {pk: (skus[pk], qty) for pk, qty in merged.items()}


def _take(location: Location, wanted: dict[int, tuple[Sku, int]], ref: Ref, actor: str) -> None:
    levels = dict(StockLevel.objects.filter(location=location, sku_id__in=wanted).values_list("sku_id", "pk"))
    short: list[Shortage] = [Shortage(sku.code, qty, 0) for pk, (sku, qty) in wanted.items() if pk not in levels]
    for sku_id, level_id in sorted(levels.items(), key=lambda item: item[1]):
        sku, qty = wanted[sku_id]
        if not _sell(level_id, qty, ref, actor):
            level = StockLevel.objects.get(pk=level_id)
            short.append(Shortage(sku.code, qty, level.available))
    if short:
        raise InsufficientStock(short)


def _sell(level_id: int, qty: int, ref: Ref, actor: str) -> bool:
    """Take `qty` available units off on_hand; when they are not there (the rare path), once
    more after releasing the level's expired checkout holds, which availability already shows
    as sellable (as a reservation does: an expired hold never blocks a sale)."""
    return apply_releasing_expired_holds(level_id, {State.ON_HAND: -qty}, ledger.POS_SALE,
                                         guard=Q(available_units__gte=qty), ref=ref, actor=actor)
