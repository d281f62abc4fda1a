"""A fulfillment's life at its location: accept or reject, pick, pack, ship or hand over.

Each action is a guarded transition: from the wrong state it raises InvalidTransition
(409 with the current state) and changes nothing. Callers hold a transaction, except
`fulfillment_collect`, which commits a wrong-code attempt before it raises."""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import transaction
from django.db.models import F as Col

from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from omnichannel.errors import InvalidTransition, ValidationFailed
from orders import events
from orders.errors import PickupCodeInvalid, PickupCodeLocked, WrongDeliveryMethod
from orders.models import Allocation, DeliveryMethod, Fulfillment, Order
from orders.services import capacity
from orders.services.numbers import new_pickup_code
from orders.services.status import refresh_order_status
from transport import selectors as transport_selectors
from transport import services as transport_services
from warehouse import services as warehouse_services

if TYPE_CHECKING:
    from warehouse.models import Package

S = Fulfillment.Status

REJECT_REASONS = {"not_in_stock", "damaged", "capacity", "other", "timeout"}

FULFILLMENT_REPACKED = events.FULFILLMENT_REPACKED  # packed again: its packages replaced (timeline only)


@dataclass(frozen=True)
class PackageInput:
    weight_grams: int
    length_cm: int | None = None
    width_cm: int | None = None
    height_cm: int | None = None


def fulfillment_lock(fulfillment_id: int) -> Fulfillment:
    """Lock the order, then the fulfillment (always in that order). Only those two rows: the
    location read with them is not locked (`of`), so other orders' work at the location, and
    rows that refer to it (a delivery booked in, a reservation), do not wait for this one."""
    order_id = Fulfillment.objects.values_list("order_id", flat=True).get(pk=fulfillment_id)
    Order.objects.select_for_update().filter(pk=order_id).first()
    return (Fulfillment.objects.select_for_update(of=("self",)).select_related("order", "location")
            .get(pk=fulfillment_id))


def _transition(fulfillment: Fulfillment, allowed: set[str], new: str, action: str, *, actor: str,
                event_type: str, publish: bool = True, message: str = "", payload: dict | None = None,
                **fields) -> Fulfillment:
    if fulfillment.status not in allowed:
        raise InvalidTransition("fulfillment", fulfillment.status, action)
    old = fulfillment.status
    fulfillment.status = new
    for key, value in fields.items():
        setattr(fulfillment, key, value)
    fulfillment.save(update_fields=["status", "updated_at", *fields])
    if new in capacity.NOT_COUNTED and old not in capacity.NOT_COUNTED:
        capacity.fulfillments_dropped([(fulfillment.location_id, fulfillment.created_at)])
    order = fulfillment.order
    refresh_order_status(order, actor=actor, announce=False)
    events.record(order, event_type, actor=actor, fulfillment=fulfillment, status_from=old, status_to=new,
                  message=message, payload=payload, publish=publish)
    return fulfillment


def _allocations(fulfillment: Fulfillment) -> list[Allocation]:
    return list(fulfillment.allocations.filter(is_active=True))


def fulfillment_accept(fulfillment: Fulfillment, *, actor: str) -> Fulfillment:
    return _transition(fulfillment, {S.PENDING}, S.ACCEPTED, "accept", actor=actor,
                       event_type=events.FULFILLMENT_ACCEPTED, publish=False)


def fulfillment_reject(fulfillment: Fulfillment, *, reason: str, note: str = "", actor: str,
                       counts: dict[str, int] | None = None) -> Fulfillment:
    """The location cannot fulfil it: release its units (the `fulfillment.rejected` event
    re-routes the order without this location), take it off the location's pick lists
    (`warehouse.services.pick_work_withdraw`) and make the stock tell the truth:
    `not_in_stock` corrects the location's stock with a count (the `counts` given per SKU
    of this fulfillment, by its code or barcode, else on hand less the units it could not
    find), `damaged` moves the units to damaged. A count for anything else is refused (400 on
    `counts.<key>`) before anything is written. Caller holds `fulfillment_lock`."""
    if reason not in REJECT_REASONS:
        raise ValidationFailed(f"Reason must be one of {sorted(REJECT_REASONS)}.", field="reason")
    if fulfillment.status not in {S.PENDING, S.ACCEPTED}:
        raise InvalidTransition("fulfillment", fulfillment.status, "reject")
    allocations = list(fulfillment.allocations.filter(is_active=True).select_related("order_line__sku"))
    if counts and reason != "not_in_stock":
        raise ValidationFailed(f"Shelf counts are taken only with reason not_in_stock, not {reason}.", field="counts")
    counted = _counts_by_sku(fulfillment, allocations, counts or {})
    inventory_services.reservations_release([a.reservation_id for a in allocations], reason="rejected", actor=actor)
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    if reason in {"not_in_stock", "damaged"}:
        _correct_stock(fulfillment, allocations, reason, counted, actor)
    rejected = _transition(fulfillment, {S.PENDING, S.ACCEPTED}, S.REJECTED, "reject", actor=actor,
                           event_type=events.FULFILLMENT_REJECTED, publish=True, message=note,
                           payload={"reason": reason}, rejection_reason=reason, rejection_note=note[:255])
    warehouse_services.pick_work_withdraw([fulfillment.pk], actor=actor)
    return rejected


def _counts_by_sku(fulfillment: Fulfillment, allocations: list[Allocation], counts: dict[str, int]) -> dict[int, int]:
    """The shelf counts by SKU id. A key names a SKU of this fulfillment by its code or its
    barcode (case and surrounding spaces aside); anything else, a key that could be two of
    its SKUs, or a SKU counted twice is a 400 on that key."""
    skus = {a.order_line.sku_id: a.order_line.sku for a in allocations}
    names: dict[str, set[int]] = defaultdict(set)
    for sku in skus.values():
        names[sku.code.strip().casefold()].add(sku.pk)
        if sku.barcode:
            names[sku.barcode.strip().casefold()].add(sku.pk)
    found: dict[int, int] = {}
    given_as: dict[int, str] = {}
    for key, quantity in counts.items():
        field = f"counts.{key}"
        matches = names.get(str(key).strip().casefold(), set())
        if not matches:
            listed = ", ".join(sorted(sku.code for sku in skus.values())) or "none"
            raise ValidationFailed(f"{key!r} is not a SKU of {fulfillment.number} (its SKUs: {listed}).",
                                   field=field)
        if len(matches) > 1:
            both = " and ".join(sorted(skus[pk].code for pk in matches))
            raise ValidationFailed(f"{key!r} could be {both}: count each by its SKU code.", field=field)
        sku_id = matches.pop()
        if sku_id in found:
            raise ValidationFailed(f"{key!r} counts {skus[sku_id].code} again (given as {given_as[sku_id]!r} "
                                   "already).", field=field)
        found[sku_id], given_as[sku_id] = quantity, str(key)
    return found


def _correct_stock(fulfillment: Fulfillment, allocations: list[Allocation], reason: str, counts: dict[int, int],
                   actor: str) -> None:
    """`counts`: the shelf count by SKU id (`_counts_by_sku`)."""
    missing: dict[int, int] = defaultdict(int)
    skus = {}
    for alloc in allocations:
        missing[alloc.order_line.sku_id] += alloc.quantity
        skus[alloc.order_line.sku_id] = alloc.order_line.sku
    levels = {lvl.sku_id: lvl for lvl in inventory_selectors.stock_levels_at(fulfillment.location_id, missing)}
    for sku_id in sorted(missing):
        level = levels.get(sku_id)
        if level is None:
            continue
        if reason == "not_in_stock":
            counted = counts.get(sku_id, max(0, level.on_hand - missing[sku_id]))
            inventory_services.stock_count(level, counted, actor=actor, reference_id=fulfillment.number,
                                           note="Rejected: not in stock")
        else:
            if level.available < missing[sku_id]:  # an expired checkout hold's units are sellable: damageable
                inventory_services.holds_release_expired(stock_level_ids=[level.pk])
                level.refresh_from_db()
            units = min(missing[sku_id], level.available)
            if units:
                inventory_services.stock_move_state(level, "available", "damaged", units, "damaged", actor=actor,
                                                    note=f"Rejected {fulfillment.number}: damaged")


def fulfillment_start_picking(fulfillment: Fulfillment, *, actor: str) -> Fulfillment:
    return _transition(fulfillment, {S.ACCEPTED}, S.PICKING, "start picking", actor=actor,
                       event_type=events.FULFILLMENT_PICKING_STARTED, message="Your order is being prepared")


def fulfillment_mark_picked(fulfillment: Fulfillment, *, actor: str) -> Fulfillment:
    return _transition(fulfillment, {S.PICKING}, S.PICKED, "mark picked", actor=actor,
                       event_type=events.FULFILLMENT_PICKED, publish=False)


def parcel_weight_limit(order: Order) -> int | None:
    """The heaviest package the order's delivery can take: the heaviest rate-card tier of the
    active carrier services of its kind (same-day or not). None for click & collect (no
    carrier takes it) and when no such service is set up (booking then says why)."""
    if order.delivery_method == DeliveryMethod.PICKUP:
        return None
    return transport_selectors.heaviest_parcel_grams(same_day=order.delivery_method == DeliveryMethod.SAME_DAY)


def package_weight_problem(weight_grams: int, limit: int | None, *, which: str = "The package") -> str | None:
    """What is wrong with this weight for a package of an order whose `parcel_weight_limit`
    is `limit`, or None."""
    if weight_grams <= 0:
        return "Weight must be a positive number of grams."
    if limit is not None and weight_grams > limit:
        return (f"{which} weighs {weight_grams} g: no carrier service takes a parcel over {limit} g. "
                "Weigh it again, or split it into more packages.")
    return None


def fulfillment_pack(fulfillment: Fulfillment, *, packages: Sequence[PackageInput], actor: str) -> Fulfillment:
    """Put the picked units into weighed packages: picked -> packed. Packing a fulfillment
    that is packed already replaces its packages (a packer correcting a weight): the old
    ones are voided and leave it, and the timeline says so (`fulfillment.repacked`). A
    package heavier than any carrier service of the order's kind takes could never ship and
    is refused (400 on its weight). Everything is checked before anything is written.
    Caller holds `fulfillment_lock`."""
    if fulfillment.status not in {S.PICKED, S.PACKED}:
        raise InvalidTransition("fulfillment", fulfillment.status, "pack")
    if not packages:
        raise ValidationFailed("Pack at least one package.", field="packages")
    limit = parcel_weight_limit(fulfillment.order)
    for index, package in enumerate(packages):
        problem = package_weight_problem(package.weight_grams, limit, which=f"Package {index + 1}")
        if problem:
            raise ValidationFailed(problem, field=f"packages[{index}].weight_grams")
    created = [warehouse_services.package_create(
        location=fulfillment.location, reference=fulfillment.number, weight_grams=p.weight_grams,
        length_cm=p.length_cm, width_cm=p.width_cm, height_cm=p.height_cm) for p in packages]
    if fulfillment.status == S.PACKED:
        return _repack(fulfillment, created, actor=actor)
    fulfillment.packages.add(*created)
    return _transition(fulfillment, {S.PICKED}, S.PACKED, "pack", actor=actor, event_type=events.FULFILLMENT_PACKED,
                       publish=False, payload={"packages": [p.pk for p in created],
                                               "weight_grams": sum(p.weight_grams for p in created)})


def _repack(fulfillment: Fulfillment, created: Sequence[Package], *, actor: str) -> Fulfillment:
    """Replace a packed fulfillment's packages with `created`. Caller holds `fulfillment_lock`."""
    old = list(fulfillment.packages.order_by("pk"))
    warehouse_services.packages_void([p.pk for p in old])
    fulfillment.packages.remove(*old)
    fulfillment.packages.add(*created)
    fulfillment.save(update_fields=["updated_at"])
    weight, old_weight = sum(p.weight_grams for p in created), sum(p.weight_grams for p in old)
    events.record(fulfillment.order, FULFILLMENT_REPACKED, actor=actor, fulfillment=fulfillment,
                  status_from=S.PACKED, status_to=S.PACKED, publish=False,
                  message=f"Packed again: {len(created)} package(s), {weight} g, replacing {len(old)} package(s), "
                          f"{old_weight} g",
                  payload={"packages": [p.pk for p in created], "weight_grams": weight,
                           "voided_packages": [p.pk for p in old], "voided_weight_grams": old_weight})
    return fulfillment


def fulfillment_ship(fulfillment: Fulfillment, *, actor: str, service_code: str | None = None) -> Fulfillment:
    """Book the shipment (tracking number + label) and commit the stock: on_hand and
    reserved both fall. The built-in carrier is computed locally; an external carrier
    would be booked after commit (see docs/adr/0002)."""
    order = fulfillment.order
    if order.delivery_method == DeliveryMethod.PICKUP:
        raise WrongDeliveryMethod("A click & collect order is handed over, not shipped.", field=None)
    if fulfillment.status != S.PACKED:
        raise InvalidTransition("fulfillment", fulfillment.status, "ship")
    shipment = transport_services.shipment_book(
        reference=fulfillment.number, service_code=service_code or getattr(fulfillment.carrier_service, "code", None),
        same_day=order.delivery_method == DeliveryMethod.SAME_DAY,
        origin=_location_address(fulfillment), destination=_order_address(order),
        parcels=[transport_services.ParcelInput(p.weight_grams, p.length_cm, p.width_cm, p.height_cm)
                 for p in fulfillment.packages.order_by("pk")])
    inventory_services.reservations_commit([a.reservation_id for a in _allocations(fulfillment)], reason="ship",
                                           actor=actor)
    return _transition(fulfillment, {S.PACKED}, S.SHIPPED, "ship", actor=actor, event_type=events.SHIPMENT_SHIPPED,
                       message=f"On its way with {shipment.service.name}",
                       payload={"tracking_number": shipment.tracking_number, "carrier": shipment.service.carrier.name,
                                "service": shipment.service.code, "shipment_id": shipment.pk},
                       shipment=shipment, carrier_service=shipment.service)


def fulfillment_mark_delivered(fulfillment: Fulfillment, *, actor: str, occurred_at=None) -> Fulfillment | None:
    if fulfillment.status == S.DELIVERED:
        return None  # the carrier told us twice
    return _transition(fulfillment, {S.SHIPPED}, S.DELIVERED, "mark delivered", actor=actor,
                       event_type=events.SHIPMENT_DELIVERED, message="Delivered",
                       payload={"tracking_number": fulfillment.shipment.tracking_number if fulfillment.shipment else "",
                                "delivered_at": occurred_at.isoformat() if occurred_at else None})


def fulfillment_ready_for_pickup(fulfillment: Fulfillment, *, actor: str) -> Fulfillment:
    if fulfillment.order.delivery_method != DeliveryMethod.PICKUP:
        raise WrongDeliveryMethod("Only click & collect orders become ready for pickup.", field=None)
    code = new_pickup_code()
    return _transition(fulfillment, {S.PACKED}, S.READY_FOR_PICKUP, "make ready for pickup", actor=actor,
                       event_type=events.FULFILLMENT_READY_FOR_PICKUP, message="Ready for pickup",
                       payload={"pickup_code": code, "location": fulfillment.location.name},
                       pickup_code=code, pickup_code_attempts=0)


def fulfillment_collect(fulfillment_id: int, *, code: str, actor: str) -> Fulfillment:
    """Hand a pickup order to the customer after checking their code. Opens its own
    transactions: a wrong code is counted (and committed) before the error is raised."""
    limit = cast(int, settings.OMNICHANNEL["PICKUP_CODE_MAX_ATTEMPTS"])
    with transaction.atomic():
        fulfillment = fulfillment_lock(fulfillment_id)
        if fulfillment.status != S.READY_FOR_PICKUP:
            raise InvalidTransition("fulfillment", fulfillment.status, "hand over")
        if fulfillment.pickup_code_attempts >= limit:
            raise PickupCodeLocked("Too many wrong codes: ask the customer for ID and re-issue the code.",
                                   field="code")
        # Bytes: compare_digest refuses a str with anything but ASCII (a TypeError, a 500).
        if hmac.compare_digest(str(code or "").strip().encode("utf-8", "surrogatepass"),
                               (fulfillment.pickup_code or "").encode()):
            inventory_services.reservations_commit([a.reservation_id for a in _allocations(fulfillment)],
                                                   reason="pickup", actor=actor)
            return _transition(fulfillment, {S.READY_FOR_PICKUP}, S.PICKED_UP, "hand over", actor=actor,
                               event_type=events.FULFILLMENT_PICKED_UP, message="Collected by the customer")
        Fulfillment.objects.filter(pk=fulfillment.pk).update(pickup_code_attempts=Col("pickup_code_attempts") + 1)
        left = limit - fulfillment.pickup_code_attempts - 1
    raise PickupCodeInvalid(f"Wrong pickup code ({left} attempt(s) left).", field="code",
                            extra={"attempts_left": left})


def _location_address(fulfillment: Fulfillment) -> dict:
    loc = fulfillment.location
    return {"name": loc.name, "line1": loc.address_line1, "city": loc.city, "postal_code": loc.postal_code,
            "country": loc.country, "lat": loc.latitude, "lng": loc.longitude}


def _order_address(order: Order) -> dict:
    return {"name": order.ship_name, "line1": order.ship_line1, "line2": order.ship_line2, "city": order.ship_city,
            "postal_code": order.ship_postal_code, "country": order.ship_country, "phone": order.ship_phone,
            "lat": order.ship_latitude, "lng": order.ship_longitude}
