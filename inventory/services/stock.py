"""Receive, adjust, move between states, count and compare-and-set: the stock operations
staff run at one stock level. Callers hold a transaction (the entry point opens it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from django.db.models import Q

from inventory import events, locks
from inventory.errors import (
    ChangedConcurrently,
    QuantityChanged,
    QuantityInvalid,
    ReasonInvalid,
    StateMoveInvalid,
    StockWouldGoNegative,
)
from inventory.models import AdjustmentReason, Location, Reservation, Sku, StockLevel
from inventory.services import ledger
from inventory.services.ledger import NO_REF, Ref, State
from inventory.services.reservations import close, holds_release_expired, retry_releasing_expired_holds

MoveState = Literal["available", "damaged", "quality_control", "written_off"]
MOVE_STATES: tuple[str, ...] = ("available", "damaged", "quality_control", "written_off")
SETTABLE_STATES: tuple[str, ...] = ("on_hand", "safety_stock", "damaged", "quality_control")


def stock_level_ensure(sku: Sku, location: Location) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(sku=sku, location=location)
    return level


def apply_releasing_expired_holds(level_id: int, deltas: dict[str, int], reason: str, *, guard: Q | None,
                                  ref: Ref = NO_REF, actor: str = "", note: str = "") -> bool:
    """`ledger.apply`; a failed guard is tried once more after releasing the level's expired
    checkout holds (`retry_releasing_expired_holds`), so an expired hold never blocks a staff
    operation on available units until the sweep runs. False (and nothing of the operation
    written) when the units are still not there. Caller holds a transaction."""
    def attempt() -> bool:
        return ledger.apply(level_id, deltas, reason, guard=guard, ref=ref, actor=actor, note=note)

    return attempt() if guard is None else retry_releasing_expired_holds(level_id, attempt)


RECEIVE_INTO: tuple[str, ...] = ("available", "quality_control", "damaged")


def arrival_deltas(quantity: int, into: str) -> dict[str, int]:
    """on_hand rises; units arriving into quality_control or damaged are held there at once
    (so a safety stock or a reservation can never claim them first)."""
    if into not in RECEIVE_INTO:
        raise StateMoveInvalid(f"Units arrive into one of {', '.join(RECEIVE_INTO)}.", field="into")
    return {State.ON_HAND: quantity} | ({into: quantity} if into != "available" else {})


def stock_receive(*, sku: Sku, location: Location, quantity: int, reason: str = ledger.RECEIVE,
                  reference_type: str = "", reference_id: str = "", actor: str = "", note: str = "",
                  into: str = "available") -> StockLevel:
    """Units arrived: on_hand rises (and quality_control or damaged with it, per `into`).
    Caller holds a transaction."""
    if quantity <= 0:
        raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    deltas = arrival_deltas(quantity, into)
    level = stock_level_ensure(sku, location)
    ledger.apply(level.pk, deltas, ledger.reason_code(reason), ref=Ref(reference_type, reference_id), actor=actor,
                 note=note)
    level.refresh_from_db()
    return level


def stock_adjust(*, stock_level: StockLevel, delta: int, reason: str, actor: str = "", note: str = "") -> StockLevel:
    """Change on_hand by `delta` for one of `AdjustmentReason` ("other" needs a note). A
    decrease may only take available units (reserved, damaged, QC and safety stock stay;
    expired checkout holds are released for it). Caller holds a transaction."""
    if delta == 0:
        raise QuantityInvalid("An adjustment must change the quantity.", field="delta")
    if reason not in AdjustmentReason.values:
        raise ReasonInvalid(f"Unknown adjustment reason {reason!r}; use one of {', '.join(AdjustmentReason.values)}.",
                            field="reason")
    if reason == AdjustmentReason.OTHER and not note.strip():
        raise ReasonInvalid("Say why in the note when the reason is 'other'.", field="note")
    guard = Q(available_units__gte=-delta) if delta < 0 else None
    if not apply_releasing_expired_holds(stock_level.pk, {State.ON_HAND: delta}, reason, guard=guard, actor=actor,
                                         note=note):
        raise StockWouldGoNegative("The adjustment would take units that are reserved or not there.", field="delta")
    stock_level.refresh_from_db()
    return stock_level


# --- moves between states ----------------------------------------------------------------------------

# (from, to) -> (deltas per unit, the state whose units are taken: its guard)
_MOVES: dict[tuple[str, str], tuple[dict[str, int], str]] = {
    ("available", "damaged"): ({State.DAMAGED: 1}, "available"),
    ("available", "quality_control"): ({State.QUALITY_CONTROL: 1}, "available"),
    ("damaged", "available"): ({State.DAMAGED: -1}, "damaged"),
    ("quality_control", "available"): ({State.QUALITY_CONTROL: -1}, "quality_control"),
    ("damaged", "quality_control"): ({State.DAMAGED: -1, State.QUALITY_CONTROL: 1}, "damaged"),
    ("quality_control", "damaged"): ({State.QUALITY_CONTROL: -1, State.DAMAGED: 1}, "quality_control"),
    ("damaged", "written_off"): ({State.DAMAGED: -1, State.ON_HAND: -1}, "damaged"),
    ("quality_control", "written_off"): ({State.QUALITY_CONTROL: -1, State.ON_HAND: -1}, "quality_control"),
}


def stock_move_state(stock_level: StockLevel, from_state: str, to_state: str, quantity: int, reason: str, *,
                     actor: str = "", note: str = "") -> StockLevel:
    """Move units between sellable ("available"), damaged and quality_control, or write
    damaged/QC units off (on_hand falls with them). Units moved out of "available" must be
    available (never reserved or safety stock; expired checkout holds are released for them);
    units moved out of damaged/QC must be there. Caller holds a transaction."""
    move = _MOVES.get((from_state, to_state))
    if move is None:
        raise StateMoveInvalid(f"Cannot move units from {from_state} to {to_state}; moves: "
                               + ", ".join(f"{a}->{b}" for a, b in _MOVES), field="to_state")
    if quantity <= 0:
        raise QuantityInvalid("Quantity must be a positive whole number.", field="quantity")
    per_unit, source = move
    guard = Q(available_units__gte=quantity) if source == "available" else Q(**{f"{source}__gte": quantity})
    deltas = {state: sign * quantity for state, sign in per_unit.items()}
    if not apply_releasing_expired_holds(stock_level.pk, deltas, ledger.reason_code(reason), guard=guard,
                                         actor=actor, note=note):
        stock_level.refresh_from_db()
        have = stock_level.available if source == "available" else getattr(stock_level, source)
        raise StockWouldGoNegative(f"Only {have} units are {source.replace('_', ' ')}; cannot move {quantity}.",
                                   field="quantity", extra={"current": have})
    stock_level.refresh_from_db()
    return stock_level


# --- compare-and-set --------------------------------------------------------------------------------


def stock_set(stock_level: StockLevel, state: str, *, expected: int, value: int, actor: str = "",
              reason: str = ledger.SET, note: str = "") -> StockLevel:
    """Set one quantity (on_hand, safety_stock, damaged, quality_control) to `value` only if it
    still is `expected` (for external systems syncing counts). One conditional UPDATE
    `WHERE state = expected AND <rule>`; the movement's delta is value - expected.

    Rules: on_hand never below reserved + damaged + QC; units moved into damaged/QC must be
    available (expired checkout holds in the way are released). Raises QuantityChanged (409,
    with `current`) when the stored value differs, StockWouldGoNegative (422) when the rule
    fails. Caller holds a transaction."""
    if state not in SETTABLE_STATES:
        raise QuantityInvalid(f"Only {', '.join(SETTABLE_STATES)} can be set.", field="state")
    if value < 0 or expected < 0:
        raise QuantityInvalid("Quantities are never negative.", field="value")
    delta = value - expected
    if delta == 0:  # nothing to write, but the caller still learns whether it was right
        stock_level.refresh_from_db()
        if getattr(stock_level, state) != expected:
            raise QuantityChanged(state, expected, getattr(stock_level, state))
        return stock_level
    guard = Q(**{state: expected}) & _set_rule(state, value, delta)
    if not apply_releasing_expired_holds(stock_level.pk, {state: delta}, ledger.reason_code(reason), guard=guard,
                                         actor=actor, note=note):
        stock_level.refresh_from_db()
        current = getattr(stock_level, state)
        if current != expected:
            raise QuantityChanged(state, expected, current)
        raise StockWouldGoNegative(f"{state} cannot become {value}: reserved {stock_level.reserved}, damaged "
                                   f"{stock_level.damaged}, quality control {stock_level.quality_control}, "
                                   f"available {stock_level.available}.", field="value", extra={"current": current})
    stock_level.refresh_from_db()
    return stock_level


def _set_rule(state: str, value: int, delta: int) -> Q:
    if state == State.ON_HAND:
        return Q(held_units__lte=value)
    if state in (State.DAMAGED, State.QUALITY_CONTROL) and delta > 0:
        return Q(available_units__gte=delta)
    return Q()


# --- cycle count -------------------------------------------------------------------------------------

# Explicit hooks for the app that knows which reserved units already left the shelves (the
# warehouse: picked into a tote, packed, on the pickup shelf; on_hand keeps them until they
# leave the building). Each takes the locked stock level and its open reservations and returns
# reservation id -> units of it already picked. Registered by the warehouse (docs/adr/0005).
UNITS_PICKED: list[Callable[[StockLevel, list[Reservation]], dict[int, int]]] = []


@dataclass
class CountResult:
    stock_level: StockLevel
    delta: int
    released: list[Reservation] = field(default_factory=list)
    picked: int = 0  # units of reservations wholly picked already: kept, never released by the count


def stock_count(stock_level: StockLevel, counted: int, *, actor: str = "", note: str = "",
                reference_id: str = "") -> CountResult:
    """Record a cycle count: on_hand becomes `counted`, the difference one "count" movement.

    The counted units are all there is, so what was promised or set aside must fit in them.
    Units already picked for an order (in a tote, packed, on the pickup shelf: `UNITS_PICKED`)
    were scanned off their shelf by the floor and are still in on_hand until they leave, so
    they are taken as found: a count below them is refused, and a shortfall is charged to the
    rest. Of the rest, damaged then quality-control units beyond the count are dropped, then,
    when what is reserved no longer fits, the level's expired checkout holds are released (as
    the sweep would: "hold_expired"; their units are sellable already), and then open
    reservations that still do not fit are released whole (nothing picked for them first,
    then those partly picked, each newest first; never one wholly picked) before on_hand is
    lowered (the check constraint), and `inventory.reservations_released` is published so
    orders re-route them. Takes the stock level's row lock, then its reservations'. Caller
    holds a transaction.

    The orders whose units were released are not locked here (the level is locked before the
    count knows whose units do not fit, and an order's lock comes before stock levels:
    docs/adr/0004). What follows for them runs after this commits, from the event: orders
    (`allocations_released`) locks each order, cancels a fulfillment left with nothing, takes
    the released lines of one still on the floor off the pick walk, and routes them again."""
    if counted < 0:
        raise QuantityInvalid("A count is never negative.", field="counted")
    level = locks.stock_level_lock(stock_level.pk)
    short = level.reserved + level.damaged + level.quality_control > counted  # something has to give
    picked, wholly = _units_picked(level) if short else ({}, 0)
    if counted < wholly:
        raise StockWouldGoNegative(
            f"{wholly} unit(s) of {level.sku.code} are picked for orders and wait to leave (tote, packing or "
            f"pickup shelf); a count takes every unit at {level.location.code}, so it cannot be below {wholly}.",
            field="counted", code="count_below_picked", extra={"picked": wholly})
    unpicked = counted - wholly  # on the shelves, in quarantine or in quality control
    damaged_cut = min(level.damaged, max(0, level.damaged + level.quality_control - unpicked))
    qc_cut = max(0, level.damaged + level.quality_control - unpicked) - damaged_cut
    room = counted - (level.damaged - damaged_cut) - (level.quality_control - qc_cut)
    if level.reserved > room and holds_release_expired(stock_level_ids=[level.pk]):
        level = locks.stock_level_lock(level.pk)  # re-read under the lock held: the holds' units are free
    released = _release_beyond(level, room, actor, picked) if level.reserved > room else []
    deltas: dict[str, int] = {State.ON_HAND: counted - level.on_hand, State.DAMAGED: -damaged_cut,
                              State.QUALITY_CONTROL: -qc_cut}
    guard = ledger.unchanged(level, State.ON_HAND, State.DAMAGED, State.QUALITY_CONTROL)
    if not ledger.apply(level.pk, deltas, ledger.COUNT, guard=guard, ref=Ref("count", reference_id), actor=actor,
                        note=note):
        raise ChangedConcurrently("The stock level changed during the count; count again.", field="counted")
    if released:
        events.reservations_released(level, released, reason=ledger.COUNT)
    level.refresh_from_db()
    return CountResult(level, deltas[State.ON_HAND], released, wholly)


def _units_picked(level: StockLevel) -> tuple[dict[int, int], int]:
    """Of the level's open reservations: reservation id -> units already picked (per the
    hooks), and the units of those wholly picked. Locks the open reservations (the level's
    lock is held: ADR 0004's order)."""
    if not UNITS_PICKED:
        return {}, 0
    reservations = locks.open_reservations_of_level_lock(level.pk)
    size = {r.pk: r.quantity for r in reservations}
    picked: dict[int, int] = {}
    for hook in UNITS_PICKED:
        for reservation_id, units in hook(level, reservations).items():
            if reservation_id in size and units > 0:
                picked[reservation_id] = min(size[reservation_id], max(units, picked.get(reservation_id, 0)))
    return picked, sum(size[pk] for pk, units in picked.items() if units == size[pk])


def _release_beyond(level: StockLevel, room: int, actor: str, picked: dict[int, int]) -> list[Reservation]:
    """Release whole open reservations until the rest fit in `room` units: first those with
    nothing picked, then those partly picked (their picked units go back to the shelf), each
    newest first. A reservation wholly picked is never released: its units are off the shelves
    and were taken as counted (`room` always holds them)."""
    reserved = level.reserved
    released: list[Reservation] = []
    candidates = [r for r in locks.open_reservations_of_level_lock(level.pk) if picked.get(r.pk, 0) < r.quantity]
    for reservation in sorted(candidates, key=lambda r: (r.pk in picked, -r.pk)):
        if reserved <= room:
            break
        released.append(reservation)
        reserved -= reservation.quantity
    close(released, Reservation.Status.RELEASED, ledger.COUNT, actor)
    return released
