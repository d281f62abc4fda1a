"""Units per bin. Every change is a conditional UPDATE through F() (`quantity >= n` for a
take), so a bin never goes negative and no quantity is read-modified-written. Bin rows are
changed after the stock levels of the same transaction (lock order, docs/adr/0004 and 0005).

A location "has bins" once it has any bin; at a location without bins these functions
change nothing (the stock level alone is the truth there)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import AdjustmentReason, Sku, StockLevel, StockMovement
from inventory.services import ledger
from warehouse.errors import BinShort
from warehouse.models import Bin, BinStock, PickTask

ORDER_LINE = "order_line"  # how orders reference their reservations (orders.services.allocation)

K = Bin.Kind
State = StockMovement.State


def location_has_bins(location_id: int) -> bool:
    return Bin.objects.filter(location_id=location_id).exists()


def special_bin(location_id: int, kind: str) -> Bin | None:
    return Bin.objects.filter(location_id=location_id, kind=kind).first()


def bin_add(bin_id: int, sku_id: int, quantity: int) -> None:
    if quantity <= 0:
        return
    BinStock.objects.get_or_create(bin_id=bin_id, sku_id=sku_id)
    BinStock.objects.filter(bin_id=bin_id, sku_id=sku_id).update(quantity=F("quantity") + quantity,
                                                                 updated_at=timezone.now())


def bin_take(bin_id: int, sku_id: int, quantity: int) -> bool:
    """Take `quantity` units if the bin holds them; False (and nothing changed) if not."""
    if quantity <= 0:
        return True
    return bool(BinStock.objects.filter(bin_id=bin_id, sku_id=sku_id, quantity__gte=quantity)
                .update(quantity=F("quantity") - quantity, updated_at=timezone.now()))


def bin_move(from_bin_id: int, to_bin_id: int, sku_id: int, quantity: int, *, what: str = "") -> None:
    if not bin_take(from_bin_id, sku_id, quantity):
        code = Bin.objects.filter(pk=from_bin_id).values_list("code", flat=True).first()
        raise BinShort(f"Bin {code} does not hold {quantity} {what or 'units'}: say it is short instead.",
                       field="quantity")
    bin_add(to_bin_id, sku_id, quantity)


def bins_units_arrived(location_id: int, sku_id: int, quantity: int, *, kind: str = K.RECEIVING) -> None:
    """Units came in without a bin named (a hook for on_hand rises made outside the floor):
    they wait in the location's special bin of `kind`."""
    if quantity <= 0:
        return
    target = special_bin(location_id, kind)
    if target is not None:
        bin_add(target.pk, sku_id, quantity)


# --- taking units out of the bins -----------------------------------------------------------------------

# (bin id, at most this many units from it; None: all it holds), in the order units are taken.
Slices = list[tuple[int, int | None]]


def _held_rows(location_id: int, sku_id: int) -> tuple[dict[int, int], dict[int, Bin]]:
    """The SKU's units per bin at the location (bins holding some), and those bins. Locks the
    SKU's bin-stock rows there in pk order (not the bins' rows)."""
    rows = list(BinStock.objects.select_for_update(of=("self",)).filter(
        bin__location_id=location_id, sku_id=sku_id, quantity__gt=0).order_by("pk"))
    held = {row.bin_id: row.quantity for row in rows}
    return held, Bin.objects.in_bulk(list(held))


def _take_in_order(sku_id: int, quantity: int, slices: Slices, held: dict[int, int]) -> int:
    """Take up to `quantity` units slice by slice (rows locked by `_held_rows`); the units taken."""
    planned: dict[int, int] = {}
    wanted = quantity
    for bin_id, cap in slices:
        step = min(wanted, held.get(bin_id, 0) - planned.get(bin_id, 0), wanted if cap is None else cap)
        if step > 0:
            planned[bin_id] = planned.get(bin_id, 0) + step
            wanted -= step
        if not wanted:
            break
    taken = 0
    for bin_id, units in planned.items():
        if bin_take(bin_id, sku_id, units):  # always, under the rows' locks
            taken += units
    return taken


def _of_kind(bins: dict[int, Bin], kind: str) -> list[int]:
    return [pk for pk, bin_ in bins.items() if bin_.kind == kind]


def bins_units_left(location_id: int, sku_id: int, quantity: int) -> int:
    """Units picked for an order left the location (shipped, collected; the floor's packing and
    pickup, and reservations committed through the API): take them from the outbound bin
    first, then storage bins in walking order, then the rest (units nobody picked leave through
    `bins_units_gone_from_shelves`). Returns the units taken (less than asked only when the
    bins held less: check_inventory says so). Locks the SKU's bin rows at the location in pk
    order."""
    if quantity <= 0 or not location_has_bins(location_id):
        return 0
    held, bins = _held_rows(location_id, sku_id)
    rank: dict[str, int] = {K.OUTBOUND: 0, K.STORAGE: 1, K.RECEIVING: 2, K.QUARANTINE: 3}
    order = sorted(bins.values(), key=lambda b: (rank[b.kind], b.pick_sequence, b.pk))
    return _take_in_order(sku_id, quantity, [(b.pk, None) for b in order], held)


def _promised_to_picks(location_id: int, sku_id: int) -> dict[int, int]:
    """Storage bin id -> units of the SKU that open picks on a walk still go there for."""
    return {bin_id: units or 0 for bin_id, units in PickTask.objects.to_walk().filter(
        sku_id=sku_id, bin__location_id=location_id).values_list("bin_id")
        .annotate(units=Sum(F("quantity") - F("picked") - F("short"))).values_list("bin_id", "units")}


def bins_units_gone_from_shelves(location_id: int, sku_id: int, quantity: int, *, damaged: int = 0,
                                 quality_control: int = 0) -> int:
    """Units that were not picked left the books (a count or a count synced from elsewhere found
    fewer, an adjustment, a till sale, a transfer sent, a write-off): `damaged` of them from
    the quarantine bin and `quality_control` from the receiving bin first, the rest off the
    shelves, i.e. the storage bins: first the units no open pick is sent for, then those it is,
    each from the end of the pick walk backwards (bins switched off first). Pick lists take
    their units from the start of the walk (`picking._tasks_for`), so this leaves the picks on
    a walk their units. Only when the shelves cannot cover the fall: the receiving bin, the
    quarantine bin and, last, the packing (outbound) bin, whose units the floor scanned off the
    shelves for orders (a count takes them as found, ADR 0005). Returns the units taken; locks
    the SKU's bin rows at the location in pk order."""
    if quantity <= 0 or not location_has_bins(location_id):
        return 0
    held, bins = _held_rows(location_id, sku_id)
    promised = _promised_to_picks(location_id, sku_id)
    shelves = sorted((b for b in bins.values() if b.kind == K.STORAGE),
                     key=lambda b: (b.is_active, -b.pick_sequence, -b.pk))
    free = [(b.pk, max(0, held[b.pk] - promised.get(b.pk, 0))) for b in shelves]
    slices: Slices = [*((pk, damaged) for pk in _of_kind(bins, K.QUARANTINE)),
                      *((pk, quality_control) for pk in _of_kind(bins, K.RECEIVING)),
                      *free, *((b.pk, None) for b in shelves),
                      *((pk, None) for kind in (K.RECEIVING, K.QUARANTINE, K.OUTBOUND) for pk in _of_kind(bins, kind))]
    return _take_in_order(sku_id, quantity, slices, held)


def bin_quantities(location_id: int, sku_ids: list[int] | None = None) -> dict[tuple[int, int], int]:
    """(bin id, sku id) -> units, for the location's bins."""
    qs = BinStock.objects.filter(bin__location_id=location_id, quantity__gt=0)
    if sku_ids is not None:
        qs = qs.filter(sku_id__in=sku_ids)
    return {(b, s): q for b, s, q in qs.values_list("bin_id", "sku_id", "quantity")}



# --- following on_hand changes made outside the floor -------------------------------------------------

_FLOOR_BOOKS_BINS: ContextVar[bool] = ContextVar("floor_books_bins", default=False)

# Reasons of an on_hand rise whose units were found where the SKU is kept (counted on the shelf,
# a booking error corrected, a customer's return put back): they go to the SKU's storage bin.
# Any other rise (a receipt, a transfer received, an unexplained "other") waits in receiving.
FOUND_ON_THE_SHELF = frozenset({ledger.COUNT, ledger.SET, ledger.IMPORT, AdjustmentReason.FOUND,
                                AdjustmentReason.CORRECTION, AdjustmentReason.CUSTOMER_RETURN})


@contextmanager
def floor_books_bins() -> Iterator[None]:
    """Around the floor's own inventory calls: the floor moves the bins itself, so
    `bins_follow_movements` leaves those movements alone."""
    token = _FLOOR_BOOKS_BINS.set(True)
    try:
        yield
    finally:
        _FLOOR_BOOKS_BINS.reset(token)


def bins_follow_movements(movements: Iterable[StockMovement]) -> int:
    """The hook for inventory's ledger: on_hand movements written outside the floor (a POS
    sale, an adjustment or count, a transfer shipped or received, a ship or handover through
    the API) at a location with bins move the bins too, as a worker would (`_follow`).
    Returns the units followed. Called in the transaction that wrote the movements."""
    if _FLOOR_BOOKS_BINS.get():
        return 0
    changes: dict[tuple[int, str], dict[str, int]] = {}  # (stock level, reason) -> state -> delta
    lines: dict[tuple[int, str], set[int]] = {}  # order lines whose reservations were committed
    for m in movements:
        if m.delta:
            deltas = changes.setdefault((m.stock_level_id, m.reason), {})
            deltas[m.state] = deltas.get(m.state, 0) + m.delta
            if (m.state == State.RESERVED and m.delta < 0 and m.reference_type == ORDER_LINE
                    and str(m.reference_id).isdigit()):
                lines.setdefault((m.stock_level_id, m.reason), set()).add(int(m.reference_id))
    changes = {key: deltas for key, deltas in changes.items()
               if deltas.get(State.ON_HAND) or deltas.get(State.DAMAGED) or deltas.get(State.QUALITY_CONTROL)}
    if not changes:
        return 0
    levels = {pk: (loc, sku) for pk, loc, sku in StockLevel.objects.filter(
        pk__in={level_id for level_id, _ in changes}).values_list("pk", "location_id", "sku_id")}
    followed = 0
    for (level_id, reason), deltas in changes.items():
        location_id, sku_id = levels[level_id]
        if not location_has_bins(location_id):
            continue
        if deltas.get(State.ON_HAND):
            followed += _follow(location_id, sku_id, reason, deltas, lines.get((level_id, reason), set()))
        else:
            followed += _follow_states(location_id, sku_id, deltas)
    return followed


def _follow_states(location_id: int, sku_id: int, deltas: dict[str, int]) -> int:
    """Units that changed state without leaving (ops marked them damaged or held them for a
    quality check, or released them): they move as a worker moves them. Into damaged: to the
    quarantine bin, from the receiving bin when they were held for a check, else off the
    shelves (`bins_units_gone_from_shelves`: never a tote's unit while the shelves hold some).
    Into quality control: off the shelves to the receiving bin. Out of damaged into quality
    control: quarantine to receiving. Released as sellable: they wait in receiving for putaway
    (from quarantine; units already in receiving stay there). Without those special bins the
    units stay where they are. Returns the units moved."""
    damaged, checked = deltas.get(State.DAMAGED, 0), deltas.get(State.QUALITY_CONTROL, 0)
    quarantine, receiving = special_bin(location_id, K.QUARANTINE), special_bin(location_id, K.RECEIVING)
    moved = 0
    if damaged > 0:
        from_check = min(damaged, max(0, -checked))
        if from_check and quarantine is not None and receiving is not None:
            moved += _between(receiving, quarantine, sku_id, from_check)
        rest = damaged - from_check
        if rest and quarantine is not None:
            taken = bins_units_gone_from_shelves(location_id, sku_id, rest)
            bin_add(quarantine.pk, sku_id, taken)
            moved += taken
    elif damaged < 0 and quarantine is not None and receiving is not None:
        moved += _between(quarantine, receiving, sku_id, -damaged)  # to a check, or to putaway
    if checked > 0 and damaged >= 0 and receiving is not None:
        taken = bins_units_gone_from_shelves(location_id, sku_id, checked)
        bin_add(receiving.pk, sku_id, taken)
        moved += taken
    return moved


def _between(source: Bin, target: Bin, sku_id: int, quantity: int) -> int:
    """Move up to `quantity` units the source bin holds to the target; returns how many."""
    held = BinStock.objects.filter(bin=source, sku_id=sku_id).values_list("quantity", flat=True).first() or 0
    units = min(quantity, held)
    if units and bin_take(source.pk, sku_id, units):  # never fails the stock change: the books follow
        bin_add(target.pk, sku_id, units)
        return units
    return 0


def _follow(location_id: int, sku_id: int, reason: str, deltas: dict[str, int], lines: set[int]) -> int:
    """One stock level's movements of one reason. A fall that commits reservations (ship,
    handover through the API) takes the units the floor picked for those order `lines` from
    the packing bin first (`bins_units_left`); the rest of it was never picked here (staff
    moved the fulfillment through the API, a till sold a held unit) and, like any other fall,
    comes off the shelves (`bins_units_gone_from_shelves`: never another order's picked unit
    while the shelves hold some; damaged or QC units written off or counted away from
    quarantine or receiving). A rise into damaged waits in quarantine, into quality control
    in receiving; sellable units go to the SKU's storage bin when they were found there
    (`FOUND_ON_THE_SHELF`), else wait in receiving."""
    change = deltas[State.ON_HAND]
    if change < 0:
        units = -change
        committed = min(units, max(0, -deltas.get(State.RESERVED, 0)))
        picked = min(committed, _picked_here(location_id, sku_id, lines))
        return bins_units_left(location_id, sku_id, picked) + bins_units_gone_from_shelves(
            location_id, sku_id, units - picked, damaged=max(0, -deltas.get(State.DAMAGED, 0)),
            quality_control=max(0, -deltas.get(State.QUALITY_CONTROL, 0)))
    damaged = min(change, max(0, deltas.get(State.DAMAGED, 0)))
    checked = min(change - damaged, max(0, deltas.get(State.QUALITY_CONTROL, 0)))
    bins_units_arrived(location_id, sku_id, damaged, kind=K.QUARANTINE)
    bins_units_arrived(location_id, sku_id, checked, kind=K.RECEIVING)
    sellable = change - damaged - checked
    shelf = _shelf_of(location_id, sku_id) if sellable and reason in FOUND_ON_THE_SHELF else None
    if shelf is not None:
        bin_add(shelf.pk, sku_id, sellable)
    else:
        bins_units_arrived(location_id, sku_id, sellable)
    return change


def _picked_here(location_id: int, sku_id: int, lines: set[int]) -> int:
    """Units of the SKU the floor picked at the location for these order lines."""
    if not lines:
        return 0
    return PickTask.objects.filter(order_line_id__in=lines, sku_id=sku_id, bin__location_id=location_id).aggregate(
        units=Sum("picked"))["units"] or 0


def _shelf_of(location_id: int, sku_id: int) -> Bin | None:
    """Where units found of the SKU are: the storage bin putaway names (the one holding most of
    it, else an empty one); None without storage bins."""
    from warehouse.services.receiving import putaway_suggestion  # receiving builds on this module

    return putaway_suggestion(location_id, Sku.objects.get(pk=sku_id))
