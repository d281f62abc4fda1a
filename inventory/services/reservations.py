"""Reservations: units of a stock level promised to an order line or held for a checkout.

Order reservations are made at placement/routing (`stock_reserve`), released on cancel or
re-route (`reservations_release`) and committed when the units leave (`reservations_commit`).
Checkout holds (reference_type "cart") carry an expiry; `holds_release_expired` (Celery beat,
every 30 s) releases the expired ones, and every new hold or short reservation first releases
the expired holds of its own stock level, so an expired hold never blocks a sale for long.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from inventory import locks
from inventory.errors import InsufficientStock, QuantityInvalid, ReservationNotOpen, Shortage
from inventory.models import AVAILABLE_UNITS, Reservation, StockLevel, StockMovement
from inventory.services import ledger
from inventory.services.ledger import Ref, State
from omnichannel.errors import NotFound, ValidationFailed

OPEN = Reservation.Status.OPEN
HOLD = Reservation.HOLD
MAX_HOLD_MINUTES = 120
EXPIRY_ACTOR = "system:hold-expiry"


@dataclass(frozen=True)
class ReserveRequest:
    stock_level_id: int
    quantity: int
    reference_id: str


def stock_reserve(requests: Sequence[ReserveRequest], *, reference_type: str, actor: str = "",
                  expires_at: datetime | None = None, channel_code: str = "") -> list[Reservation]:
    """Reserve every request or none. Caller holds a transaction.

    Each stock level is changed by one conditional UPDATE (`available >= n`) in pk order.
    Raises InsufficientStock listing each stock level that could not cover its request
    (the caller's transaction must then roll back: earlier rows may have been updated)."""
    for request in requests:
        if request.quantity <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    short = [r for r in sorted(requests, key=lambda r: r.stock_level_id) if not _reserve_one(r)]
    if short:
        raise InsufficientStock(_describe_shortages(short))
    reservations = Reservation.objects.bulk_create([
        Reservation(stock_level_id=r.stock_level_id, quantity=r.quantity, reference_type=reference_type,
                    reference_id=r.reference_id, expires_at=expires_at, channel_code=channel_code)
        for r in requests
    ])
    StockMovement.objects.bulk_create([
        ledger.movement(r.stock_level_id, State.RESERVED, r.quantity, ledger.RESERVE,
                        ref=Ref(reference_type, r.reference_id), actor=actor)
        for r in requests
    ])
    return reservations


def _reserve_one(request: ReserveRequest) -> bool:
    """One conditional UPDATE; only when it fails (the rare path) are expired holds of that
    level released and the UPDATE tried once more. Keeps pk order: same level, same turn."""
    if _take(request):
        return True
    return bool(holds_release_expired(stock_level_ids=[request.stock_level_id])) and _take(request)


def _take(request: ReserveRequest) -> bool:
    return bool(StockLevel.objects.filter(pk=request.stock_level_id).alias(avail=AVAILABLE_UNITS)
                .filter(avail__gte=request.quantity)
                .update(reserved=F("reserved") + request.quantity, updated_at=timezone.now()))


def _describe_shortages(requests: Iterable[ReserveRequest]) -> list[Shortage]:
    wanted: dict[int, int] = defaultdict(int)
    for r in requests:
        wanted[r.stock_level_id] += r.quantity
    rows = (StockLevel.objects.filter(pk__in=wanted).annotate(avail=AVAILABLE_UNITS)
            .values_list("pk", "sku__code", "avail"))
    return [Shortage(sku=code, requested=wanted[pk], available=max(0, avail)) for pk, code, avail in rows]


def _lock(reservation_ids: Iterable[int]) -> list[Reservation]:
    """Lock the reservations' stock levels (pk order), then the reservations (the lock order
    of `inventory.locks`, shared with counts, so the two never deadlock)."""
    ids = set(reservation_ids)
    if not ids:
        return []
    locks.stock_levels_lock(Reservation.objects.filter(pk__in=ids).values_list("stock_level_id", flat=True))
    return locks.reservations_lock(ids)


def reservations_release(reservation_ids: Iterable[int], *, reason: str = "release", actor: str = "") -> int:
    """Release open reservations (already closed ones are skipped: release is idempotent).
    Caller holds a transaction. Returns the units released."""
    reservations = [r for r in _lock(reservation_ids) if r.status == OPEN]
    return close(reservations, Reservation.Status.RELEASED, reason, actor)


def reservations_commit(reservation_ids: Iterable[int], *, reason: str = "ship", actor: str = "") -> int:
    """Units leave the building: on_hand and reserved both fall. Caller holds a transaction."""
    reservations = _lock(reservation_ids)
    closed = [r for r in reservations if r.status != OPEN]
    if closed:
        raise ReservationNotOpen(f"Reservation {closed[0].pk} is {closed[0].status}, it cannot be committed.")
    return close(reservations, Reservation.Status.COMMITTED, reason, actor)


def close(reservations: list[Reservation], status: str, reason: str, actor: str) -> int:
    """Close locked open reservations: reserved falls (and on_hand too when committed).
    Caller holds the locks of the reservations and their stock levels."""
    if not reservations:
        return 0
    per_level: dict[int, int] = defaultdict(int)
    for r in reservations:
        per_level[r.stock_level_id] += r.quantity
    commit = status == Reservation.Status.COMMITTED
    now = timezone.now()
    for level_id in sorted(per_level):
        qty = per_level[level_id]
        changes = {"reserved": F("reserved") - qty, "updated_at": now}
        if commit:
            changes["on_hand"] = F("on_hand") - qty
        StockLevel.objects.filter(pk=level_id).update(**changes)
    Reservation.objects.filter(pk__in=[r.pk for r in reservations], status=OPEN).update(status=status, closed_at=now)
    movements = []
    for r in reservations:
        r.status, r.closed_at = status, now
        ref = Ref(r.reference_type, r.reference_id)
        movements.append(ledger.movement(r.stock_level_id, State.RESERVED, -r.quantity, reason, ref=ref, actor=actor))
        if commit:
            movements.append(ledger.movement(r.stock_level_id, State.ON_HAND, -r.quantity, reason, ref=ref,
                                             actor=actor))
    ledger.written(StockMovement.objects.bulk_create(movements))
    return sum(per_level.values())


# --- checkout holds --------------------------------------------------------------------------------


def hold_create(*, stock_level: StockLevel, quantity: int, minutes: int, reference_id: str,
                channel_code: str = "", actor: str = "", now: datetime | None = None) -> Reservation:
    """Hold `quantity` available units for a cart for `minutes` (1..120). Caller holds a
    transaction. Expired holds of the same stock level are released first, so units a
    forgotten cart held are sellable again without waiting for the periodic task.
    Raises InsufficientStock (409) when the units are not available."""
    if not 1 <= minutes <= MAX_HOLD_MINUTES:
        raise ValidationFailed(f"A hold lasts 1 to {MAX_HOLD_MINUTES} minutes.", field="minutes")
    if not reference_id or len(reference_id) > 64:
        raise ValidationFailed("Give the cart id (at most 64 characters).", field="reference_id")
    now = now or timezone.now()
    holds_release_expired(now=now, stock_level_ids=[stock_level.pk], actor=actor or EXPIRY_ACTOR)
    [hold] = stock_reserve([ReserveRequest(stock_level.pk, quantity, reference_id)], reference_type=HOLD,
                           actor=actor, expires_at=now + timedelta(minutes=minutes), channel_code=channel_code)
    return hold


def hold_release(hold_id: int, *, channel_code: str | None = None, actor: str = "") -> int:
    """Release one checkout hold (idempotent: a closed hold releases 0 units). With
    `channel_code`, a hold of another channel is not found. Caller holds a transaction."""
    hold = Reservation.objects.filter(pk=hold_id, reference_type=HOLD).values("channel_code").first()
    if hold is None or (channel_code is not None and hold["channel_code"] != channel_code):
        raise NotFound(f"No checkout hold {hold_id}.", field="id", code="hold_not_found")
    return reservations_release([hold_id], reason="hold_release", actor=actor)


def holds_release_expired(*, now: datetime | None = None, stock_level_ids: Iterable[int] | None = None,
                          limit: int = 500, actor: str = EXPIRY_ACTOR) -> list[Reservation]:
    """Release open holds whose expiry has passed (at most `limit`, oldest first). Safe to run
    concurrently: the holds are re-read under their stock levels' locks and only those still
    open are released, so each is released once. Caller holds a transaction."""
    now = now or timezone.now()
    qs = Reservation.objects.filter(status=OPEN, reference_type=HOLD, expires_at__lte=now)
    if stock_level_ids is not None:
        qs = qs.filter(stock_level_id__in=list(stock_level_ids))
    ids = list(qs.order_by("pk").values_list("pk", flat=True)[:limit])
    expired = [r for r in _lock(ids) if r.status == OPEN and r.expires_at is not None and r.expires_at <= now]
    close(expired, Reservation.Status.RELEASED, ledger.HOLD_EXPIRED, actor)
    return expired

