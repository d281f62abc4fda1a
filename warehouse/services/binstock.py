"""Units per bin. Every change is a conditional UPDATE through F() (`quantity >= n` for a
take), so a bin never goes negative and no quantity is read-modified-written. Bin rows are
changed after the stock levels of the same transaction (lock order, docs/adr/0004 and 0005).

A location "has bins" once it has any bin; at a location without bins these functions
change nothing (the stock level alone is the truth there)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from warehouse.errors import BinShort
from warehouse.models import Bin, BinStock

K = Bin.Kind


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
    target = special_bin(location_id, kind)
    if target is not None:
        bin_add(target.pk, sku_id, quantity)


def bins_units_left(location_id: int, sku_id: int, quantity: int) -> int:
    """Units left the location (shipped, collected, sold, written off): take them from the
    outbound bin first, then storage bins in walking order, then the rest. Returns the
    units taken (less than asked only when the bins held less: check_inventory says so).
    Locks the SKU's bin rows at the location in pk order."""
    if quantity <= 0 or not location_has_bins(location_id):
        return 0
    rows = list(BinStock.objects.select_for_update().filter(bin__location_id=location_id, sku_id=sku_id,
                                                            quantity__gt=0).order_by("pk"))
    kinds = dict(Bin.objects.filter(pk__in=[r.bin_id for r in rows]).values_list("pk", "kind"))
    sequence = dict(Bin.objects.filter(pk__in=[r.bin_id for r in rows]).values_list("pk", "pick_sequence"))
    rank: dict[str, int] = {K.OUTBOUND: 0, K.STORAGE: 1, K.RECEIVING: 2, K.QUARANTINE: 3}
    taken = 0
    for row in sorted(rows, key=lambda r: (rank[kinds[r.bin_id]], sequence[r.bin_id], r.pk)):
        step = min(row.quantity, quantity - taken)
        if step and bin_take(row.bin_id, sku_id, step):
            taken += step
        if taken == quantity:
            break
    return taken


def bin_quantities(location_id: int, sku_ids: list[int] | None = None) -> dict[tuple[int, int], int]:
    """(bin id, sku id) -> units, for the location's bins."""
    qs = BinStock.objects.filter(bin__location_id=location_id, quantity__gt=0)
    if sku_ids is not None:
        qs = qs.filter(sku_id__in=sku_ids)
    return {(b, s): q for b, s, q in qs.values_list("bin_id", "sku_id", "quantity")}



# --- following on_hand changes made outside the floor -------------------------------------------------

_FLOOR_BOOKS_BINS: ContextVar[bool] = ContextVar("floor_books_bins", default=False)


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
    the API) at a location with bins move the bins too: a fall leaves through
    `bins_units_left`, a rise waits in the receiving bin. Returns the units followed.
    Called in the transaction that wrote the movements."""
    if _FLOOR_BOOKS_BINS.get():
        return 0
    changes = [(m.stock_level_id, m.delta) for m in movements if m.state == StockMovement.State.ON_HAND and m.delta]
    if not changes:
        return 0
    levels = {pk: (loc, sku) for pk, loc, sku in StockLevel.objects.filter(
        pk__in={level_id for level_id, _ in changes}).values_list("pk", "location_id", "sku_id")}
    followed = 0
    for level_id, delta in changes:
        location_id, sku_id = levels[level_id]
        if not location_has_bins(location_id):
            continue
        if delta < 0:
            followed += bins_units_left(location_id, sku_id, -delta)
        else:
            bins_units_arrived(location_id, sku_id, delta)
            followed += delta
    return followed
