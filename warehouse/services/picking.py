"""Waves, pick lists and picking by scanning.

A pick list is one walk: a single fulfillment (stores) or a batch (warehouses), each
fulfillment into its own tote. Tasks name a bin and are walked in bin sequence
(`engine.walk_order`). A scan names the bin and the item; a wrong bin or item raises and
records nothing. The first unit picked for a fulfillment starts its picking (the customer
hears "being prepared"); a short pick corrects the stock through inventory movements and
sends the missing units back to the router in the same transaction. A tote whose order is
cancelled, or whose fulfillment the location rejects, during the walk leaves it at once
(`putback`): what a picker has to walk is `PickTask.objects.to_walk()` everywhere, and the
pick list's screen lists the cancelled totes' units to put back until someone confirms it.
A line a stock count took from a fulfillment that goes on leaves the walk the same way
(`putback.pick_lines_withdraw`), and a count takes units already picked as found
(`reservations_units_picked`).

Lock order: the order and fulfillment (`fulfillment_lock`), then the pick task, then stock
levels (inventory), then bin rows. Callers hold a transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import time

from django.db.models import F, Sum

from inventory import services as inventory_services
from inventory.models import Location, Reservation, Sku, StockLevel
from omnichannel.errors import InvalidTransition, ValidationFailed
from orders import services as order_services
from orders.models import Allocation, Fulfillment
from orders.services import floor as order_floor
from orders.services.allocation import RESERVATION_REFERENCE
from transport import selectors as transport_selectors
from warehouse import engine
from warehouse.errors import NoBins, NothingToPick, NotReady, TooMany, WrongBin, WrongItem
from warehouse.models import LEFT_THE_WALK, Bin, BinStock, PickList, PickTask, Tote, Wave
from warehouse.services.binstock import (
    bin_move,
    bin_take,
    bins_units_gone_from_shelves,
    floor_books_bins,
    special_bin,
)
from warehouse.services.numbers import new_number
from warehouse.services.putback import pick_lists_close_if_done, pick_work_withdraw
from warehouse.services.scan import sku_by_scan

logger = logging.getLogger(__name__)

FS = Fulfillment.Status
T = PickTask.Status
WAITING = {FS.PENDING, FS.ACCEPTED}
PICKING_FINISHED = Fulfillment.PICKING_FINISHED
SHORT_REASONS = {"not_found": "lost", "damaged": "damaged_at_pick"}


# --- creating work -------------------------------------------------------------------------------------


def open_fulfillments(location: Location) -> list[Fulfillment]:
    """Fulfillments at the location waiting to be picked and on no unfinished pick list."""
    busy = Tote.objects.exclude(pick_list__status=PickList.Status.DONE).values("fulfillment_id")
    return list(Fulfillment.objects.filter(location=location, status__in=WAITING).exclude(pk__in=busy)
                .select_related("order", "carrier_service").order_by("order_id", "pk"))


def _cutoff(fulfillment: Fulfillment, cutoffs: dict[str, time]) -> time | None:
    if fulfillment.carrier_service is not None:
        return fulfillment.carrier_service.cutoff_time
    option = fulfillment.order.promise_option
    return cutoffs.get(option.split(":", 1)[1]) if option.startswith("ship:") else None


def wave_create(location: Location, *, delivery_method: str = "", cutoff_before: time | None = None,
                batch_size: int = 6, actor: str) -> Wave:
    """Release the location's waiting fulfillments (of one delivery method, and/or whose
    carrier service's cutoff is at or before `cutoff_before`) as batch pick lists of up to
    `batch_size` fulfillments each."""
    if not 1 <= batch_size <= 20:
        raise ValidationFailed("A batch holds 1 to 20 fulfillments.", field="batch_size")
    candidates = open_fulfillments(location)
    if delivery_method:
        candidates = [f for f in candidates if f.order.delivery_method == delivery_method]
    if cutoff_before is not None:
        cutoffs = {s.code: s.cutoff_time for s in transport_selectors.active_services()}
        candidates = [f for f in candidates if (c := _cutoff(f, cutoffs)) is not None and c <= cutoff_before]
    if not candidates:
        raise NothingToPick("No fulfillment waits for picking with these criteria.", field=None)
    wave = Wave.objects.create(number=new_number("WV", 6), location=location, delivery_method=delivery_method,
                               cutoff_before=cutoff_before, created_by=actor[:100])
    for start in range(0, len(candidates), batch_size):
        pick_list_create(location, candidates[start:start + batch_size], kind=PickList.Kind.BATCH, wave=wave,
                         actor=actor)
    return wave


def pick_list_create(location: Location, fulfillments: Sequence[Fulfillment], *, kind: str, actor: str,
                     wave: Wave | None = None) -> PickList:
    """A pick list for the given fulfillments (accepting those still pending), one tote each,
    its tasks in walking order. Every unit needs a storage bin that holds the SKU."""
    if not fulfillments:
        raise NothingToPick("Nothing to pick.", field=None)
    if not Bin.objects.filter(location=location, kind=Bin.Kind.STORAGE).exists():
        raise NoBins(f"{location.name} has no storage bins yet: set up its bins first.", field=None)
    pick_list = PickList.objects.create(number=new_number("PL", 6), location=location, wave=wave, kind=kind,
                                        created_by=actor[:100])
    tasks: list[PickTask] = []
    planned: dict[tuple[int, int], int] = {}
    for position, fulfillment in enumerate(sorted(fulfillments, key=lambda f: (f.order_id, f.pk)), start=1):
        locked = order_services.fulfillment_lock(fulfillment.pk)
        if locked.location_id != location.pk or locked.status not in WAITING:
            raise InvalidTransition("fulfillment", locked.status, "put on a pick list")
        busy = (Tote.objects.filter(fulfillment=locked).exclude(pick_list__status=PickList.Status.DONE)
                .values_list("pick_list__number", flat=True).first())
        if busy is not None:  # checked under the fulfillment's lock: a double tap or a stale screen
            raise NotReady(f"{locked.number} is already on pick list {busy}.", field="fulfillment")
        if locked.status == FS.PENDING:
            order_services.fulfillment_accept(locked, actor=actor)
        tote = Tote.objects.create(pick_list=pick_list, fulfillment=locked, position=position,
                                   code=f"{pick_list.number}-T{position}")
        tasks.extend(_tasks_for(tote, locked, planned))
    _sequence(tasks)
    PickTask.objects.bulk_create(tasks)
    return pick_list


def _free_in_bins(location_id: int, sku_id: int) -> list[tuple[Bin, int]]:
    """Storage bins holding the SKU, in walking order, with units not promised to open tasks."""
    promised = dict(PickTask.objects.to_walk().filter(sku_id=sku_id, bin__location_id=location_id)
                    .values_list("bin_id").annotate(n=Sum(F("quantity") - F("picked") - F("short")))
                    .values_list("bin_id", "n"))
    rows = (BinStock.objects.filter(bin__location_id=location_id, bin__kind=Bin.Kind.STORAGE, sku_id=sku_id,
                                    quantity__gt=0, bin__is_active=True)
            .select_related("bin").order_by("bin__pick_sequence", "bin__code"))
    return [(row.bin, row.quantity - (promised.get(row.bin_id) or 0)) for row in rows]


def _tasks_for(tote: Tote, fulfillment: Fulfillment, planned: dict[tuple[int, int], int]) -> list[PickTask]:
    tasks = []
    for line_id, (sku_id, quantity) in sorted(order_floor.fulfillment_units(fulfillment).items()):
        bins = _free_in_bins(fulfillment.location_id, sku_id)
        if not bins:
            raise NothingToPick(f"No bin holds SKU {sku_id} at this location: put it away first.", field=None)
        left = quantity
        for bin_, free in bins:
            take = min(left, free - planned.get((bin_.pk, sku_id), 0))
            if take > 0:
                tasks.append(_task(tote, line_id, sku_id, bin_, take))
                planned[(bin_.pk, sku_id)] = planned.get((bin_.pk, sku_id), 0) + take
                left -= take
            if not left:
                break
        if left:  # the bins hold fewer than the system thinks: the picker will short-pick here
            tasks.append(_task(tote, line_id, sku_id, bins[0][0], left))
    return tasks


def _task(tote: Tote, line_id: int, sku_id: int, bin_: Bin, quantity: int) -> PickTask:
    return PickTask(pick_list=tote.pick_list, tote=tote, order_line_id=line_id, sku_id=sku_id, bin=bin_,
                    quantity=quantity, sequence=0)


def _sequence(tasks: list[PickTask]) -> None:
    sku_codes = dict(Sku.objects.filter(pk__in={t.sku_id for t in tasks}).values_list("pk", "code"))
    stops = [engine.Stop(index, t.bin.pick_sequence, t.bin.code, sku_codes[t.sku_id], t.tote.position)
             for index, t in enumerate(tasks)]
    for sequence, index in enumerate(engine.walk_order(stops), start=1):
        tasks[index].sequence = sequence


# --- picking -------------------------------------------------------------------------------------------


def _lock_task(task_id: int) -> tuple[Fulfillment, PickTask]:
    fulfillment_id = Tote.objects.filter(tasks__pk=task_id).values_list("fulfillment_id", flat=True).get()
    fulfillment = order_services.fulfillment_lock(fulfillment_id)
    task = (PickTask.objects.select_for_update(of=("self",)).select_related("bin", "sku", "tote", "pick_list")
            .get(pk=task_id))
    if task.status == T.CANCELLED and fulfillment.status not in LEFT_THE_WALK:
        raise NotReady(f"This pick is off the list: {line_taken_why(task, fulfillment)}. Nothing was recorded; "
                       "go on with the next pick.", field=None)
    if task.status == T.CANCELLED:
        raise NotReady("This pick is off the list: its order was cancelled or is no longer picked here.",
                       field=None)
    if task.status != T.OPEN:
        raise NotReady("This pick is already done.", field=None)
    return fulfillment, task


def _is_bin(task: PickTask, code: str) -> bool:
    code = (code or "").strip()
    return bool(code) and (code == task.bin.barcode or code.lower() == task.bin.code.lower())


def pick_check_bin(task: PickTask, bin_code: str) -> None:
    """Raise WrongBin unless the scanned code is the task's bin (nothing is recorded)."""
    if not _is_bin(task, bin_code):
        raise WrongBin(f"Wrong bin {bin_code.strip()!r}: go to bin {task.bin.code}.", field="bin")


def pick_scan(task: PickTask, *, bin_code: str, item_code: str, quantity: int = 1, actor: str) -> PickTask:
    """Pick `quantity` units (the scanner's one unit, or a typed quantity) from the task's bin
    into its tote. The first unit of a fulfillment starts its picking."""
    fulfillment, task = _lock_task(task.pk)
    pick_check_bin(task, bin_code)
    scanned = sku_by_scan_or_wrong(item_code, task)
    if scanned != task.sku_id:
        raise WrongItem(f"Wrong item: this is not {task.sku.name}.", field="item")
    if not 0 < quantity <= task.remaining:
        raise TooMany(f"Pick at most {task.remaining} here.", field="quantity")
    if fulfillment.status == FS.ACCEPTED:
        order_services.fulfillment_start_picking(fulfillment, actor=actor)
    elif fulfillment.status != FS.PICKING:
        raise InvalidTransition("fulfillment", fulfillment.status, "pick")
    outbound = special_bin(task.bin.location_id, Bin.Kind.OUTBOUND)
    if outbound is None:
        raise NoBins("This location has no packing bin.", field=None)
    bin_move(task.bin_id, outbound.pk, task.sku_id, quantity, what=task.sku.code)
    PickTask.objects.filter(pk=task.pk, picked__lte=F("quantity") - F("short") - quantity).update(
        picked=F("picked") + quantity)
    task.refresh_from_db()
    _close_if_done(task, fulfillment, actor)
    return task


def sku_by_scan_or_wrong(code: str, task: PickTask) -> int:
    try:
        return sku_by_scan(code).pk
    except Exception as exc:
        raise WrongItem(f"Wrong item {code.strip()!r}: pick {task.sku.name}.", field="item") from exc


def pick_short(task: PickTask, *, reason: str, actor: str) -> PickTask:
    """The bin holds fewer than the task's remaining units (not found, or damaged): the stock
    is corrected (lost: on_hand falls; damaged: sellable -> damaged, into quarantine), the
    fulfillment keeps what was found and the missing units are routed again at once."""
    if reason not in SHORT_REASONS:
        raise ValidationFailed(f"Reason must be one of {sorted(SHORT_REASONS)}.", field="reason")
    fulfillment, task = _lock_task(task.pk)
    missing = task.remaining
    with floor_books_bins():
        order_floor.fulfillment_short(fulfillment, order_line_id=task.order_line_id, missing=missing,
                                      reason=reason, actor=actor)
    _correct_stock(task, missing, reason, actor)
    PickTask.objects.filter(pk=task.pk).update(short=missing, short_reason=reason, status=T.SHORT)
    task.refresh_from_db()
    _close_if_done(task, fulfillment, actor)
    order_floor.order_reroute_now(fulfillment.order_id, actor=actor)
    return task


def _correct_stock(task: PickTask, missing: int, reason: str, actor: str) -> None:
    with floor_books_bins():
        _correct(task, missing, reason, actor)


def _correct(task: PickTask, missing: int, reason: str, actor: str) -> None:
    level = StockLevel.objects.get(sku_id=task.sku_id, location_id=task.bin.location_id)
    note = f"short pick in bin {task.bin.code} ({task.pick_list.number})"
    if reason == "not_found":
        inventory_services.stock_adjust(stock_level=level, delta=-missing, reason="lost", actor=actor, note=note)
        if not bin_take(task.bin_id, task.sku_id, missing):  # the books held fewer there: off the other shelves
            bins_units_gone_from_shelves(task.bin.location_id, task.sku_id, missing)
        return
    inventory_services.stock_move_state(level, "available", "damaged", missing, SHORT_REASONS[reason], actor=actor,
                                        note=note)
    quarantine = special_bin(task.bin.location_id, Bin.Kind.QUARANTINE)
    if quarantine is not None:
        bin_move(task.bin_id, quarantine.pk, task.sku_id, missing, what=task.sku.code)


def _close_if_done(task: PickTask, fulfillment: Fulfillment, actor: str) -> None:
    if task.status == T.OPEN and task.remaining == 0:
        PickTask.objects.filter(pk=task.pk, status=T.OPEN).update(status=T.DONE)
    tote_open = PickTask.objects.filter(tote_id=task.tote_id, status=T.OPEN).exists()
    if not tote_open:
        fulfillment.refresh_from_db(fields=["status"])
        if fulfillment.status == FS.PICKING:
            order_services.fulfillment_mark_picked(fulfillment, actor=actor)
    pick_list = task.pick_list
    if pick_list.status == PickList.Status.OPEN:
        PickList.objects.filter(pk=pick_list.pk, status=PickList.Status.OPEN).update(status=PickList.Status.PICKING)
    pick_lists_close_if_done([pick_list.pk])


# --- what a stock count may not take -------------------------------------------------------------------


def reservations_units_picked(level: StockLevel, reservations: Sequence[Reservation]) -> dict[int, int]:
    """Reservation id -> units of it already picked at the level's location, off their shelf:
    every unit of a fulfillment whose picking is finished (picked, packed, on the pickup shelf;
    by the floor or through the API), and for one on its pick walk the units its tasks moved
    into the tote for the line and that were not put back since (the line's oldest reservation
    first). A stock count takes these as found (`inventory.services.stock.UNITS_PICKED`,
    registered by `WarehouseConfig.ready()`). Reads only: the count holds the stock level's lock, which comes
    after the order's; a pick committing meanwhile is caught by the count's follow-up
    (`orders.services.reroute.allocations_released`), which puts such units back."""
    ids = [r.pk for r in reservations if r.reference_type == RESERVATION_REFERENCE]
    rows = list(Allocation.objects.filter(reservation_id__in=ids, is_active=True, fulfillment__isnull=False,
                                          fulfillment__location_id=level.location_id)
                .values_list("reservation_id", "quantity", "fulfillment_id", "order_line_id", "fulfillment__status")
                .order_by("reservation_id"))
    picked = {reservation: units for reservation, units, _, _, status in rows if status in PICKING_FINISHED}
    walked = [(reservation, units, (f, line)) for reservation, units, f, line, status in rows
              if status in {FS.ACCEPTED, FS.PICKING}]
    if not walked:
        return picked
    in_totes = {(f, line): n for f, line, n in PickTask.objects.filter(
        tote__fulfillment_id__in={key[0] for _, _, key in walked}, order_line_id__in={key[1] for _, _, key in walked},
        picked__gt=0, put_back__isnull=True).exclude(status=T.CANCELLED)
        .values_list("tote__fulfillment_id", "order_line_id").annotate(n=Sum("picked"))
        .values_list("tote__fulfillment_id", "order_line_id", "n")}
    for reservation, units, key in walked:
        taken = min(units, in_totes.get(key, 0))
        if taken:
            picked[reservation] = taken
            in_totes[key] -= taken
    return picked


# --- an order cancelled while its pick list is walked ------------------------------------------------


def line_taken_why(task: PickTask, fulfillment: Fulfillment) -> str:
    """Why a pick of an order that goes on left the walk, in the picker's words (a stock count
    took its line: `putback.pick_lines_withdraw`)."""
    return (f"a stock count found too few {task.sku.code} here, so order {fulfillment.order.number} no longer "
            "gets them from this location")


def left_why(fulfillment: Fulfillment) -> str:
    """Why a tote left the walk, in the picker's words (its fulfillment is in LEFT_THE_WALK)."""
    return "was cancelled" if fulfillment.status == FS.CANCELLED else "is no longer picked here"


def pick_list_drop_cancelled(pick_list: PickList, *, actor: str) -> list[str]:
    """Take off the walk the totes still on it whose fulfillment left the location by a path
    that did not take them off itself (cancel and reject do, at once: `putback`): their open
    tasks close as cancelled, so they no longer stand first in the walk and block the other
    orders, and the units already picked into them go back in the books and are listed to
    put back (`putback.pick_work_withdraw`). Returns a line per tote dropped, for the picker;
    nothing if none was. Caller holds a transaction."""
    tote_ids = list(Tote.objects.filter(pick_list=pick_list, fulfillment__status__in=LEFT_THE_WALK,
                                        tasks__status=T.OPEN).values_list("pk", flat=True).distinct())
    notes = []
    for tote in Tote.objects.filter(pk__in=tote_ids).order_by("position"):
        fulfillment = order_services.fulfillment_lock(tote.fulfillment_id)  # the order first, as every floor write
        if fulfillment.status not in LEFT_THE_WALK or not tote.tasks.filter(status=T.OPEN).exists():
            continue  # another request took it off meanwhile
        back = pick_work_withdraw([fulfillment.pk], actor=actor)
        what = "put its units back (below)." if back else "nothing was picked for it."
        notes.append(f"Order {fulfillment.order.number} {left_why(fulfillment)}: tote {tote.code} is off this list; "
                     f"{what}")
        logger.info("pick list %s: tote %s dropped (%s %s) by %s", pick_list.number, tote.code,
                    fulfillment.number, fulfillment.status, actor)
    return notes
