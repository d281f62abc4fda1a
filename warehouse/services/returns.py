"""Returns at any location that accepts them, whichever channel sold the order.

Scan the items (each with a disposition: restock here, damaged, missing), then receive:
restocked units come into on_hand here (sellable, into the putaway bin), damaged units
into on_hand and damaged (quarantine bin), missing units change no stock. The order's
timeline shows the return and `return.received` tells the storefront what to refund.
Lock order: the order row (receive), then the return row, then stock levels, then bins. Callers
hold a transaction."""

from __future__ import annotations

from django.db.models import F, Sum
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import Location, StockLevel
from omnichannel.errors import InvalidTransition, ValidationFailed
from orders.models import Order, OrderLine
from orders.services import floor as order_floor
from warehouse.errors import NothingToPick, ReturnsNotAccepted, TooMany, UnknownCode, WrongItem
from warehouse.models import Bin, ReturnLine, ReturnReceipt
from warehouse.services.binstock import bin_add, floor_books_bins, special_bin
from warehouse.services.numbers import new_number
from warehouse.services.receiving import putaway_suggestion
from warehouse.services.scan import sku_by_scan

D = ReturnLine.Disposition
RS = ReturnReceipt.Status


def return_open(location: Location, order: Order, *, actor: str) -> ReturnReceipt:
    """Start (or continue) receiving a return of `order` at `location`."""
    if not location.accepts_returns:
        raise ReturnsNotAccepted(f"{location.name} does not accept returns.", field=None)
    if not order_floor.order_returnable_units(order):
        raise NothingToPick(f"Nothing of {order.number} was shipped or handed over yet.", field="order")
    existing = ReturnReceipt.objects.filter(location=location, order=order, status=RS.OPEN).first()
    return existing or ReturnReceipt.objects.create(number=new_number("RT"), location=location, order=order,
                                                    created_by=actor[:100])


def returned_units(order: Order) -> dict[int, int]:
    """Order line id -> units on received returns of this order."""
    qs = ReturnLine.objects.filter(return_receipt__order=order, return_receipt__status=RS.RECEIVED)
    rows = qs.values_list("order_line_id").annotate(n=Sum("quantity")).values_list("order_line_id", "n")
    return dict(rows)


def _scanned(ret: ReturnReceipt) -> dict[int, int]:
    rows = (ret.lines.values_list("order_line_id").annotate(n=Sum("quantity")).values_list("order_line_id", "n"))
    return dict(rows)


def return_scan(ret: ReturnReceipt, code: str, *, disposition: str, quantity: int = 1, actor: str) -> ReturnLine:
    """Count a scanned unit on the return with its disposition. An item not on the order, or
    more than was delivered and not yet returned: error, nothing recorded."""
    if disposition not in D.values:
        raise ValidationFailed(f"Disposition must be one of {', '.join(D.values)}.", field="disposition")
    if quantity <= 0:
        raise ValidationFailed("Quantity must be a positive whole number.", field="quantity")
    ret = ReturnReceipt.objects.select_for_update().get(pk=ret.pk)
    if ret.status != RS.OPEN:
        raise InvalidTransition("return", ret.status, "scan onto")
    try:
        sku = sku_by_scan(code)
    except UnknownCode as exc:
        raise WrongItem(f"Unknown item {code.strip()!r}.", field="item") from exc
    line = _line_with_room(ret, sku.pk, quantity)
    entry, _ = ReturnLine.objects.get_or_create(return_receipt=ret, order_line=line, disposition=disposition,
                                                defaults={"sku": sku})
    ReturnLine.objects.filter(pk=entry.pk).update(quantity=F("quantity") + quantity)
    entry.refresh_from_db()
    return entry


def return_clear(ret: ReturnReceipt, *, actor: str) -> int:
    """Start the count of an open return over (a mis-scan, a wrong disposition, or units
    that another return took meanwhile): its scanned lines go; nothing was booked for them
    yet. Returns how many units were cleared."""
    ret = ReturnReceipt.objects.select_for_update().get(pk=ret.pk)
    if ret.status != RS.OPEN:
        raise InvalidTransition("return", ret.status, "clear")
    units = ret.lines.aggregate(n=Sum("quantity"))["n"] or 0
    ret.lines.all().delete()
    return units


def _line_with_room(ret: ReturnReceipt, sku_id: int, quantity: int) -> OrderLine:
    lines = list(OrderLine.objects.filter(order_id=ret.order_id, sku_id=sku_id).order_by("line_number"))
    if not lines:
        raise WrongItem("That item is not on this order.", field="item")
    delivered = order_floor.order_returnable_units(ret.order)
    returned, scanned = returned_units(ret.order), _scanned(ret)
    for line in lines:
        if delivered.get(line.pk, 0) - returned.get(line.pk, 0) - scanned.get(line.pk, 0) >= quantity:
            return line
    raise TooMany("All delivered units of that item are already on a return.", field="item")


def return_receive(ret: ReturnReceipt, *, actor: str) -> ReturnReceipt:
    """Book the scanned units: stock and ledger per disposition, the order's timeline, and
    `return.received` with what the storefront needs to refund."""
    order_floor.order_lock(ReturnReceipt.objects.values_list("order_id", flat=True).get(pk=ret.pk))
    ret = ReturnReceipt.objects.select_for_update(of=("self",)).select_related("location", "order").get(pk=ret.pk)
    if ret.status != RS.OPEN:
        raise InvalidTransition("return", ret.status, "receive")
    lines = list(ret.lines.filter(quantity__gt=0).select_related("sku", "order_line").order_by("sku_id", "pk"))
    if not lines:
        raise NothingToPick("Scan the returned items first.", field="item")
    _check_still_returnable(ret)
    with floor_books_bins():
        for line in lines:
            _book(ret, line, actor)
    ReturnReceipt.objects.filter(pk=ret.pk).update(status=RS.RECEIVED, received_at=timezone.now())
    order_floor.order_return_record(ret.order, return_number=ret.number, location_code=ret.location.code,
                                    lines=[_refund_line(line) for line in lines], actor=actor)
    ret.refresh_from_db()
    return ret


def _check_still_returnable(ret: ReturnReceipt) -> None:
    """The same units may sit on another open return of the order (another location) that
    was received first: refuse, rather than restock and refund them twice."""
    delivered, returned = order_floor.order_returnable_units(ret.order), returned_units(ret.order)
    for line_id, quantity in sorted(_scanned(ret).items()):
        room = delivered.get(line_id, 0) - returned.get(line_id, 0)
        if quantity > room:
            line = OrderLine.objects.select_related("sku").get(pk=line_id)
            raise TooMany(f"{quantity} x {line.sku.code} scanned but only {max(room, 0)} can still be returned: "
                          "the rest was already returned on another return.", field="item")


def _refund_line(line: ReturnLine) -> dict[str, object]:
    return {"line_number": line.order_line.line_number, "sku": line.sku.code, "quantity": line.quantity,
            "disposition": line.disposition, "unit_price": str(line.order_line.unit_price)}


def _book(ret: ReturnReceipt, line: ReturnLine, actor: str) -> None:
    if line.disposition == D.MISSING:
        return
    reason = "return_restock" if line.disposition == D.RESTOCK else "return_damaged"
    inventory_services.stock_receive(sku=line.sku, location=ret.location, quantity=line.quantity, reason=reason,
                                     reference_type="return", reference_id=ret.number, actor=actor,
                                     note=f"order {ret.order.number}")
    if line.disposition == D.DAMAGED:
        level = StockLevel.objects.get(sku=line.sku, location=ret.location)
        inventory_services.stock_move_state(level, "available", "damaged", line.quantity, reason, actor=actor,
                                            note=f"return {ret.number}")
        target = special_bin(ret.location_id, Bin.Kind.QUARANTINE)
    else:
        target = putaway_suggestion(ret.location_id, line.sku) or special_bin(ret.location_id, Bin.Kind.RECEIVING)
    if target is not None:
        bin_add(target.pk, line.sku_id, line.quantity)
