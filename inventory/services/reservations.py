"""Reservations: units of a stock level promised to an order line or held for a checkout.

Order reservations are made at placement/routing (`stock_reserve`), released on cancel or
re-route (`reservations_release`) and committed when the units leave (`reservations_commit`).
Checkout holds (reference_type "cart") carry an expiry; `holds_release_expired` (Celery beat,
every 30 s) releases the expired ones, and every new hold or short reservation first releases
the expired holds of its own stock level, so an expired hold never blocks a sale for long.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone

from inventory import locks
from inventory.errors import InsufficientStock, QuantityInvalid, ReservationNotOpen, Shortage
from inventory.models import AVAILABLE_UNITS, Reservation, StockLevel, StockMovement
from inventory.services import ledger
from inventory.services.ledger import Ref, State
from omnichannel import rawsql
from omnichannel.errors import NotFound, ValidationFailed
from omnichannel.inserts import mark_saved
from omnichannel.instances import new

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

    The reservation and ledger rows are written first and each stock level is then changed
    by one conditional UPDATE (`available >= n`) in pk order, so a stock row is locked only
    from its UPDATE to the caller's COMMIT: on a hot SKU that lock is what every client
    queues for (docs/benchmarks.md, "Hot-SKU reservations").
    Raises InsufficientStock listing each stock level that could not cover its request; the
    caller's transaction (or savepoint) must then roll back, which removes the rows written."""
    for request in requests:
        if request.quantity <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    if not requests:
        return []
    now = timezone.now()
    reservations, movements = reservation_rows(requests, reference_type=reference_type, actor=actor,
                                               expires_at=expires_at, channel_code=channel_code)
    if connection.vendor == "postgresql":
        _insert_in_one_statement(reservations, movements, now)
    else:
        Reservation.objects.bulk_create(reservations)
        StockMovement.objects.bulk_create(movements)
    per_level: dict[int, int] = defaultdict(int)
    for r in requests:
        per_level[r.stock_level_id] += r.quantity
    short = [level_id for level_id in sorted(per_level) if not _reserve_level(level_id, per_level[level_id], now)]
    if short:
        raise InsufficientStock(_describe_shortages({level_id: per_level[level_id] for level_id in short}))
    return reservations


def stock_take(per_level: dict[int, int]) -> None:
    """Raise `reserved` on each stock level (id -> units) or on none, for a caller that writes
    the reservations and their ledger rows (`reservation_rows`) after, in its transaction.

    Each level is raised only if it has the units available (the rule of AVAILABLE_UNITS).
    Rows are locked in pk order (the lock order of `inventory.locks`): on Postgres several
    levels take one statement whose CTE locks them in that order before any is changed. A
    level that cannot cover its units is tried once more alone, after its expired checkout
    holds are released. If it still cannot, the levels already raised (locked by this
    transaction) are lowered again and InsufficientStock raised: the transaction may go on
    with nothing to undo. Their row locks stay until it ends, though: a caller that then
    takes other stock levels (a new plan) must have made this attempt in a savepoint (whose
    rollback lets go of them) or start a new transaction, or it could deadlock."""
    if any(quantity <= 0 for quantity in per_level.values()):
        raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    if not per_level:
        return
    now = timezone.now()
    if connection.vendor == "postgresql" and len(per_level) > 1:
        taken = _take_locked_in_order(per_level, now)
    else:
        taken = {level_id for level_id in sorted(per_level) if _take(level_id, per_level[level_id], now)}
    short = [level_id for level_id in sorted(set(per_level) - taken)
             if not _reserve_level(level_id, per_level[level_id], now)]
    if short:
        for level_id in set(per_level) - set(short):
            _give_back(level_id, per_level[level_id], now)
        raise InsufficientStock(_describe_shortages({level_id: per_level[level_id] for level_id in short}))


def _take_locked_in_order(per_level: dict[int, int], now: datetime) -> set[int]:
    """Postgres: every level in one UPDATE; the ids of the levels raised. The CTE locks all
    the rows first, in pk order, whatever plan the join gets; a row changed by another
    transaction meanwhile is checked again at its latest version (READ COMMITTED). The lock
    is the one an UPDATE takes (FOR NO KEY UPDATE): FOR UPDATE would also block the foreign
    key checks of other transactions' reservations on these rows (FOR KEY SHARE, run at
    their COMMIT), and a transaction committing while it holds a level this one waits for
    would deadlock with it."""
    (lock,), sql, params = stock_take_sql(per_level, now)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {lock} {sql}", params)
        return {row[0] for row in cursor.fetchall()}


def stock_take_sql(per_level: dict[int, int], now: datetime) -> tuple[list[str], str, list[Any]]:
    """Postgres: `_take_locked_in_order`'s statement, for a caller that runs it inside a
    larger statement of its own (`inserts.Together.run`; then checks that every level came
    back, or rolls its transaction back: nothing is given back or tried again). Its CTE (the
    lock, named `l`), the UPDATE, and the parameters of both."""
    ids = sorted(per_level)
    table = StockLevel._meta.db_table
    params: list[Any] = []
    these = rawsql.in_list("id", ids, params)
    params.append(now)
    for level_id in ids:
        params += [level_id, per_level[level_id]]
    values = ", ".join(["(CAST(%s AS bigint), CAST(%s AS integer))"] * len(ids))
    lock = f"l AS MATERIALIZED (SELECT id FROM {table} WHERE {these} ORDER BY id FOR NO KEY UPDATE)"  # noqa: S608
    sql = (f"UPDATE {table} s SET reserved = s.reserved + v.q, updated_at = %s FROM (VALUES {values}) AS v(id, q), l "  # noqa: S608
           "WHERE s.id = v.id AND l.id = v.id "
           "AND s.on_hand - s.reserved - s.safety_stock - s.damaged - s.quality_control >= v.q RETURNING s.id")
    return [lock], sql, params


def retry_releasing_expired_holds(level_id: int, attempt: Callable[[], bool]) -> bool:
    """`attempt()` (a conditional change of one stock level); when it fails (the rare path),
    once more after releasing the level's expired checkout holds, which availability already
    counts as sellable. Tried again even when this call released nothing: a failed
    conditional UPDATE locks no row, so another transaction (the sweep, a sale) may have
    released those holds meanwhile. Lock order (ADR 0004): the level, then its holds."""
    if attempt():
        return True
    holds_release_expired(stock_level_ids=[level_id])
    return attempt()


def reservation_rows(requests: Sequence[ReserveRequest], *, reference_type: str, actor: str = "",
                     expires_at: datetime | None = None,
                     channel_code: str = "") -> tuple[list[Reservation], list[StockMovement]]:
    """The reservations of `requests` and their ledger rows, unsaved: what `stock_reserve`
    writes, for a caller that took the units with `stock_take`."""
    now = timezone.now()
    reservations = [new(Reservation, stock_level_id=r.stock_level_id, quantity=r.quantity, status=OPEN,
                                reference_type=reference_type, reference_id=r.reference_id,
                                expires_at=expires_at, channel_code=channel_code, created_at=now)
                    for r in requests]
    movements = [ledger.movement(r.stock_level_id, State.RESERVED, r.quantity, ledger.RESERVE,
                                 ref=Ref(reference_type, r.reference_id), actor=actor) for r in requests]
    return reservations, movements


_RESERVATION_COLUMNS = ("stock_level_id", "quantity", "status", "reference_type", "reference_id", "channel_code",
                        "expires_at", "created_at")
_MOVEMENT_COLUMNS = ("stock_level_id", "state", "delta", "reason", "reference_type", "reference_id", "actor", "note",
                     "created_at")


def _insert_in_one_statement(reservations: list[Reservation], movements: list[StockMovement], now: datetime) -> None:
    """Postgres: both INSERTs in one round trip (a data-modifying CTE); sets the pks."""
    params: list[Any] = []
    # in the statement's order: the movements, then the reservations
    for m in movements:
        params.extend((m.stock_level_id, m.state, m.delta, m.reason, m.reference_type, m.reference_id, m.actor,
                       m.note, now))
    for r in reservations:
        params.extend((r.stock_level_id, r.quantity, r.status, r.reference_type, r.reference_id, r.channel_code,
                       r.expires_at, now))

    def rows(count: int, width: int) -> str:
        return ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * count)

    # table and column names come from the models; every value is a bound parameter
    sql = (f"WITH m AS (INSERT INTO {StockMovement._meta.db_table} ({', '.join(_MOVEMENT_COLUMNS)}) "  # noqa: S608
           f"VALUES {rows(len(movements), len(_MOVEMENT_COLUMNS))}) "
           f"INSERT INTO {Reservation._meta.db_table} ({', '.join(_RESERVATION_COLUMNS)}) "
           f"VALUES {rows(len(reservations), len(_RESERVATION_COLUMNS))} RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        mark_saved(reservations, [row[0] for row in cursor.fetchall()])


_TAKE_SQL = (f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved + %s, updated_at = %s "  # noqa: S608
             "WHERE id = %s AND on_hand - reserved - safety_stock - damaged - quality_control >= %s")


def _reserve_level(level_id: int, quantity: int, now: datetime) -> bool:
    """One conditional UPDATE (the same rule as models.AVAILABLE_UNITS), tried once more after
    releasing the level's expired holds when it fails. Also the second look of a level that
    the one-statement take could not cover (a transaction that gave units back may have
    committed while this one waited for the row). Keeps pk order: same level, same turn."""
    return retry_releasing_expired_holds(level_id, lambda: _take(level_id, quantity, now))


def _take(level_id: int, quantity: int, now: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [quantity, now, level_id, quantity])
        return cursor.rowcount == 1


_GIVE_BACK_SQL = (f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved - %s, updated_at = %s "  # noqa: S608
                  "WHERE id = %s")


def _give_back(level_id: int, quantity: int, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_GIVE_BACK_SQL, [quantity, now, level_id])


def _describe_shortages(wanted: dict[int, int]) -> list[Shortage]:
    """wanted: stock level id -> units asked for."""
    rows = (StockLevel.objects.filter(pk__in=wanted).annotate(avail=AVAILABLE_UNITS)
            .values_list("pk", "sku__code", "avail"))
    return [Shortage(sku=code, requested=wanted[pk], available=max(0, avail)) for pk, code, avail in rows]


def _lock(reservation_ids: Iterable[int], also: Iterable[int] = ()) -> list[Reservation]:
    """Lock the reservations' stock levels (and the levels `also`) in pk order, then the
    reservations (the lock order of `inventory.locks`, shared with counts, so the two never
    deadlock)."""
    ids = set(reservation_ids)
    if not ids:
        return []
    levels = set(Reservation.objects.filter(pk__in=ids).values_list("stock_level_id", flat=True))
    locks.stock_levels_lock(levels | set(also))
    return locks.reservations_lock(ids)


def reservations_release(reservation_ids: Iterable[int], *, reason: str = "release", actor: str = "",
                         then_take: Iterable[int] = ()) -> int:
    """Release open reservations (already closed ones are skipped: release is idempotent).
    Caller holds a transaction. Returns the units released.

    `then_take`: stock levels the caller will take in this transaction after the release
    (moving a hold). They are locked now, with the released ones, in one pk order: taken
    after, they would be a second round of locks, and a transaction taking the same levels
    in pk order could hold one of them while waiting for a released one (a deadlock)."""
    reservations = [r for r in _lock(reservation_ids, then_take) if r.status == OPEN]
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

