"""Packing: scan the tote or order, scan each item into a box, weigh, ship.

Boxes are drafts (`PackingBox`) until "ship": then the fulfillment is packed (one Package
per box, through orders), and shipped (the shipment is booked with the router's carrier
service or the cheapest within the promise, and the label made) or, for click & collect,
made ready for pickup. Units that leave take their bin stock with them. Lock order: the
order and fulfillment, then box rows, then stock levels, then bins. Callers hold a
transaction."""

from __future__ import annotations

import math
from collections import defaultdict

from django.db.models import F, Q, Sum

from inventory.models import Location, Sku
from orders import services as order_services
from orders.models import DeliveryMethod, Fulfillment
from orders.services import floor as order_floor
from orders.services.fulfillment import package_weight_problem, parcel_weight_limit
from transport import selectors as transport_selectors
from warehouse import engine, selectors
from warehouse.engine.cartonisation import items_weight
from warehouse.errors import NotReady, TooMany, UnknownCode, WrongItem
from warehouse.models import BoxType, PackedItem, PackingBox, Tote
from warehouse.services.binstock import bins_units_left, floor_books_bins
from warehouse.services.scan import sku_by_scan

FS = Fulfillment.Status
MAX_WEIGHT_GRAMS = 1_000_000  # a tonne: a barcode scanned into the weight field is refused, not stored


def packing_find(location: Location, code: str) -> Fulfillment:
    """The picked fulfillment at this location named by a tote, order or fulfillment number."""
    code = (code or "").strip()
    fulfillment_ids = list(Tote.objects.filter(code__iexact=code, fulfillment__location=location)
                           .values_list("fulfillment_id", flat=True))
    qs = Fulfillment.objects.filter(location=location).filter(
        Q(pk__in=fulfillment_ids) | Q(number__iexact=code) | Q(order__number__iexact=code))
    found = list(qs.select_related("order").order_by("pk"))
    if not found:
        raise UnknownCode(f"No tote, order or fulfillment {code!r} here.", field="code")
    ready = [f for f in found if f.status == FS.PICKED]
    cancelled = [f for f in found if f.status == FS.CANCELLED] if not ready else []
    put_back = [card for f in cancelled for card in selectors.put_backs_open(location, f.pk)]
    if put_back:  # the packer scanned the tote of an order cancelled after its picking
        raise NotReady(f"Order {put_back[0].order_number} was cancelled: do not pack it, put back "
                       f"{', '.join(put_back[0].lines)}.", field="code")
    if not ready:
        raise NotReady(f"{found[0].number} is {found[0].status}, not waiting for packing.", field="code")
    return ready[0]


def units_to_pack(fulfillment: Fulfillment) -> dict[int, int]:
    """SKU id -> units the fulfillment holds."""
    units: dict[int, int] = defaultdict(int)
    for sku_id, qty in order_floor.fulfillment_units(fulfillment).values():
        units[sku_id] += qty
    return dict(units)


def units_packed(fulfillment: Fulfillment) -> dict[int, int]:
    rows = (PackedItem.objects.filter(box__fulfillment=fulfillment).values_list("sku_id")
            .annotate(n=Sum("quantity")).values_list("sku_id", "n"))
    return {sku_id: n for sku_id, n in rows if n}


def _locked_picked(fulfillment: Fulfillment) -> Fulfillment:
    locked = order_services.fulfillment_lock(fulfillment.pk)
    if locked.status != FS.PICKED:
        raise NotReady(f"{locked.number} is {locked.status}, not waiting for packing.", field=None)
    return locked


def current_box(fulfillment: Fulfillment) -> PackingBox:
    box = PackingBox.objects.filter(fulfillment=fulfillment, package__isnull=True).order_by("-sequence").first()
    return box or PackingBox.objects.create(fulfillment=fulfillment, sequence=1)


def pack_new_box(fulfillment: Fulfillment, *, actor: str) -> PackingBox:
    """Start the next box (the current one must hold something)."""
    fulfillment = _locked_picked(fulfillment)
    box = current_box(fulfillment)
    if not box.items.filter(quantity__gt=0).exists():
        return box
    return PackingBox.objects.create(fulfillment=fulfillment, sequence=box.sequence + 1)


def pack_scan(fulfillment: Fulfillment, code: str, *, quantity: int = 1, actor: str) -> PackedItem:
    """Put scanned units into the current box. An item the fulfillment does not hold, or
    more than it holds: error, nothing recorded."""
    fulfillment = _locked_picked(fulfillment)
    try:
        sku = sku_by_scan(code)
    except UnknownCode as exc:
        raise WrongItem(f"Unknown item {code.strip()!r}.", field="item") from exc
    wanted = units_to_pack(fulfillment).get(sku.pk, 0)
    if not wanted:
        raise WrongItem(f"{sku.name} is not in {fulfillment.number}.", field="item")
    left = wanted - units_packed(fulfillment).get(sku.pk, 0)
    if not 0 < quantity <= left:
        raise TooMany(f"Only {left} more of {sku.name} to pack.", field="quantity")
    box = current_box(fulfillment)
    PackedItem.objects.get_or_create(box=box, sku=sku)
    PackedItem.objects.filter(box=box, sku=sku).update(quantity=F("quantity") + quantity)
    return PackedItem.objects.get(box=box, sku=sku)


def _item_specs(box: PackingBox) -> list[engine.ItemSpec]:
    skus = {s.pk: s for s in Sku.objects.filter(pk__in=box.items.values("sku_id"))}
    return [engine.ItemSpec(skus[i.sku_id].length_mm, skus[i.sku_id].width_mm, skus[i.sku_id].height_mm,
                            skus[i.sku_id].weight_grams, i.quantity) for i in box.items.filter(quantity__gt=0)]


def box_suggestion(box: PackingBox) -> BoxType | None:
    """The smallest box type of the location that takes this box's items."""
    types = list(BoxType.objects.filter(location_id=box.fulfillment.location_id, is_active=True))
    specs = [engine.BoxSpec(t.pk, t.length_mm, t.width_mm, t.height_mm, t.max_weight_grams, t.tare_grams)
             for t in types]
    chosen = engine.suggest_box(_item_specs(box), specs)
    return next((t for t in types if chosen is not None and t.pk == chosen.key), None)


def box_expected_weight(box: PackingBox, box_type: BoxType | None = None) -> int:
    """The items' weight plus the box's own (its chosen type, else `box_type`)."""
    chosen = box.box_type or box_type
    tare = chosen.tare_grams if chosen else 0
    return items_weight(_item_specs(box)) + tare


def pack_box_set(box: PackingBox, *, box_type_code: str | None = None, weight_grams: int | None = None,
                 actor: str) -> PackingBox:
    """Choose the box type and/or record the weight read from the scale. A weight no carrier
    service of the order's kind takes is refused here, as packing would refuse it."""
    fulfillment = _locked_picked(box.fulfillment)
    box = PackingBox.objects.select_for_update().get(pk=box.pk)
    if box_type_code is not None:
        box_type = BoxType.objects.filter(location_id=box.fulfillment.location_id, code=box_type_code).first()
        if box_type is None:
            raise UnknownCode(f"No box type {box_type_code!r} here.", field="box_type")
        box.box_type = box_type
    if weight_grams is not None:
        if not 0 < weight_grams <= MAX_WEIGHT_GRAMS:
            raise TooMany(f"Weight must be a number of grams from 1 to {MAX_WEIGHT_GRAMS}.", field="weight_grams")
        problem = package_weight_problem(weight_grams, parcel_weight_limit(fulfillment.order),
                                         which=f"Box {box.sequence}")
        if problem:
            raise TooMany(problem, field="weight_grams")
        box.weight_grams = weight_grams
    box.save(update_fields=["box_type", "weight_grams"])
    return box


def _cm(mm: int) -> int:
    return max(1, math.ceil(mm / 10))


def promised_service(fulfillment: Fulfillment) -> str | None:
    """The carrier service already chosen for the fulfillment, else the one the customer was
    promised ("ship:<service code>"), else None (orders books the cheapest). A promised code
    that is no active service of the order's kind (the storefront sent one we do not have, or
    ops switched it off since) is None too: the packer cannot change it, so it must not
    keep the parcel from shipping."""
    if fulfillment.carrier_service_id is not None:
        return None  # orders uses it
    option = fulfillment.order.promise_option
    code = option.split(":", 1)[1] if option.startswith("ship:") else None
    same_day = fulfillment.order.delivery_method == DeliveryMethod.SAME_DAY
    return code if code and code in transport_selectors.service_codes(same_day=same_day) else None


def pack_ship(fulfillment: Fulfillment, *, actor: str) -> Fulfillment:
    """Every unit is in a box: pack (one package per box, weight read or computed), then ship
    (book the shipment and label) or make ready for pickup. Units shipped leave their bins.
    Packing goes through orders' `fulfillment_pack`, as the staff API's does: the same checks
    (a package no carrier takes is refused, 400 on `packages[i].weight_grams`, box i+1)."""
    fulfillment = _locked_picked(fulfillment)
    wanted, packed = units_to_pack(fulfillment), units_packed(fulfillment)
    if wanted != packed:
        missing = sum(wanted.values()) - sum(packed.values())
        raise NotReady(f"{missing} unit(s) still to pack.", field=None)
    PackingBox.objects.filter(fulfillment=fulfillment, package__isnull=True).exclude(items__quantity__gt=0).delete()
    boxes = list(PackingBox.objects.filter(fulfillment=fulfillment).select_related("box_type").order_by("sequence"))
    packages = [order_services.PackageInput(
        weight_grams=box.weight_grams or box_expected_weight(box),
        length_cm=_cm(box.box_type.length_mm) if box.box_type else None,
        width_cm=_cm(box.box_type.width_mm) if box.box_type else None,
        height_cm=_cm(box.box_type.height_mm) if box.box_type else None) for box in boxes]
    order_services.fulfillment_pack(fulfillment, packages=packages, actor=actor)
    for box, package in zip(boxes, fulfillment.packages.order_by("pk"), strict=True):
        PackingBox.objects.filter(pk=box.pk).update(package=package)
    if fulfillment.order.delivery_method == DeliveryMethod.PICKUP:
        return order_services.fulfillment_ready_for_pickup(fulfillment, actor=actor)
    with floor_books_bins():
        order_services.fulfillment_ship(fulfillment, actor=actor, service_code=promised_service(fulfillment))
    for sku_id, qty in sorted(wanted.items()):
        bins_units_left(fulfillment.location_id, sku_id, qty)
    return fulfillment
