"""Every write to inventory. Callers hold a transaction (the entry point opens it).

Quantities are never read-modified-written in Python: each change is a conditional
UPDATE through F() whose WHERE clause re-checks the rule on the locked row, applied
in stock-level primary-key order so concurrent multi-line reservations cannot deadlock.
Each change appends StockMovement rows, which `check_inventory` sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.errors import (
    InsufficientStock,
    QuantityInvalid,
    ReservationNotOpen,
    Shortage,
    StockWouldGoNegative,
)
from inventory.models import Location, Reservation, Sku, StockLevel, StockMovement
from inventory.selectors import AVAILABLE

State = StockMovement.State


@dataclass(frozen=True)
class ReserveRequest:
    stock_level_id: int
    quantity: int
    reference_id: str


def _movement(level_id: int, state: str, delta: int, reason: str, *, reference_type: str = "",
              reference_id: str = "", actor: str = "", note: str = "") -> StockMovement:
    return StockMovement(stock_level_id=level_id, state=state, delta=delta, reason=reason,
                         reference_type=reference_type, reference_id=str(reference_id), actor=actor, note=note)


def stock_level_ensure(sku: Sku, location: Location) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(sku=sku, location=location)
    return level


@transaction.atomic(savepoint=False)
def stock_receive(*, sku: Sku, location: Location, quantity: int, reason: str = "receive",
                  reference_type: str = "", reference_id: str = "", actor: str = "") -> StockLevel:
    if quantity <= 0:
        raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    level = stock_level_ensure(sku, location)
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + quantity, updated_at=timezone.now())
    _movement(level.pk, State.ON_HAND, quantity, reason, reference_type=reference_type,
              reference_id=reference_id, actor=actor).save()
    level.refresh_from_db()
    return level


@transaction.atomic(savepoint=False)
def stock_adjust(*, stock_level: StockLevel, delta: int, reason: str, actor: str = "", note: str = "") -> StockLevel:
    """Change on_hand by `delta`; a decrease may only take units that are available."""
    if delta == 0:
        raise QuantityInvalid("An adjustment must change the quantity.", field="delta")
    qs = StockLevel.objects.filter(pk=stock_level.pk)
    if delta < 0:
        qs = qs.alias(avail=AVAILABLE).filter(avail__gte=-delta)
    if not qs.update(on_hand=F("on_hand") + delta, updated_at=timezone.now()):
        raise StockWouldGoNegative("The adjustment would take units that are reserved or not there.", field="delta")
    _movement(stock_level.pk, State.ON_HAND, delta, reason, actor=actor, note=note).save()
    stock_level.refresh_from_db()
    return stock_level


def stock_reserve(requests: Sequence[ReserveRequest], *, reference_type: str, actor: str = "",
                  expires_at: datetime | None = None) -> list[Reservation]:
    """Reserve every request or none. Caller holds a transaction.

    Raises InsufficientStock listing each stock level that could not cover its request
    (the caller's transaction must then roll back: earlier rows may have been updated)."""
    for request in requests:
        if request.quantity <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    shortages: list[tuple[ReserveRequest, int]] = []
    for request in sorted(requests, key=lambda r: r.stock_level_id):
        updated = (StockLevel.objects.filter(pk=request.stock_level_id).alias(avail=AVAILABLE)
                   .filter(avail__gte=request.quantity).update(reserved=F("reserved") + request.quantity))
        if not updated:
            shortages.append((request, 0))
    if shortages:
        raise InsufficientStock(_describe_shortages([r for r, _ in shortages]))
    reservations = Reservation.objects.bulk_create([
        Reservation(stock_level_id=r.stock_level_id, quantity=r.quantity, reference_type=reference_type,
                    reference_id=r.reference_id, expires_at=expires_at)
        for r in requests
    ])
    StockMovement.objects.bulk_create([
        _movement(r.stock_level_id, State.RESERVED, r.quantity, "reserve", reference_type=reference_type,
                  reference_id=r.reference_id, actor=actor)
        for r in requests
    ])
    return reservations


def _describe_shortages(requests: Iterable[ReserveRequest]) -> list[Shortage]:
    wanted: dict[int, int] = defaultdict(int)
    for r in requests:
        wanted[r.stock_level_id] += r.quantity
    rows = (StockLevel.objects.filter(pk__in=wanted).annotate(avail=AVAILABLE)
            .values_list("pk", "sku__code", "avail"))
    return [Shortage(sku=code, requested=wanted[pk], available=max(0, avail)) for pk, code, avail in rows]


def _lock_open(reservation_ids: Iterable[int]) -> list[Reservation]:
    return list(Reservation.objects.select_for_update().filter(pk__in=list(reservation_ids)).order_by("pk"))


def reservations_release(reservation_ids: Iterable[int], *, reason: str = "release", actor: str = "") -> int:
    """Release open reservations (already closed ones are skipped: release is idempotent).
    Caller holds a transaction. Returns the units released."""
    reservations = [r for r in _lock_open(reservation_ids) if r.status == Reservation.Status.OPEN]
    return _close(reservations, Reservation.Status.RELEASED, reason, actor, commit=False)


def reservations_commit(reservation_ids: Iterable[int], *, reason: str = "ship", actor: str = "") -> int:
    """Units leave the building: on_hand and reserved both fall. Caller holds a transaction."""
    reservations = _lock_open(reservation_ids)
    closed = [r for r in reservations if r.status != Reservation.Status.OPEN]
    if closed:
        raise ReservationNotOpen(f"Reservation {closed[0].pk} is {closed[0].status}, it cannot be committed.")
    return _close(reservations, Reservation.Status.COMMITTED, reason, actor, commit=True)


def _close(reservations: list[Reservation], status: str, reason: str, actor: str, *, commit: bool) -> int:
    if not reservations:
        return 0
    per_level: dict[int, int] = defaultdict(int)
    for r in reservations:
        per_level[r.stock_level_id] += r.quantity
    now = timezone.now()
    for level_id in sorted(per_level):
        qty = per_level[level_id]
        changes = {"reserved": F("reserved") - qty, "updated_at": now}
        if commit:
            changes["on_hand"] = F("on_hand") - qty
        StockLevel.objects.filter(pk=level_id).update(**changes)
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(status=status, closed_at=now)
    movements = []
    for r in reservations:
        movements.append(_movement(r.stock_level_id, State.RESERVED, -r.quantity, reason,
                                   reference_type=r.reference_type, reference_id=r.reference_id, actor=actor))
        if commit:
            movements.append(_movement(r.stock_level_id, State.ON_HAND, -r.quantity, reason,
                                       reference_type=r.reference_type, reference_id=r.reference_id, actor=actor))
    StockMovement.objects.bulk_create(movements)
    return sum(per_level.values())
