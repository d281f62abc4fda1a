"""Totes that leave a pick walk, and units of a cancelled order going back from the packing
bin to the shelves (docs/adr/0005).

Picking moves units from storage bins into the location's packing (outbound) bin, where they
wait until they leave. A fulfillment leaves its location's picking when its order is
cancelled or the location rejects it; orders' services call, in their transaction:
- `bins_put_back_cancelled` from `order_cancel`, whenever the order was cancelled before its
  units left (during its pick walk, or after it: picked, packed, on the pickup shelf);
- `pick_work_withdraw` from `fulfillment_reject` (nothing was picked yet: the fulfillment was
  only accepted), and from `allocations_released` when a stock count left a fulfillment with
  no units (still to pick, or during its walk), right after the count commits.
Either way its tote leaves any walk at once (open tasks close as `cancelled`; a pick list left
with nothing to pick is done), the units already picked go back in the books to the bins they
came from, and each line is recorded as an open `PutBack`, listed at the packing station
("put back 1 × SKU to bin B") and on the screen of the pick list it was taken off, until
someone confirms it (`put_back_confirm`). Nobody has to open the pick list again for this.
A stock count that takes only some lines of a fulfillment on the floor takes just those lines'
picks off the walk the same way (`pick_lines_withdraw`, from `allocations_released`); the
tote stays on its walk with the other lines.

A stock count takes units already picked as found: it asks the floor which reserved units left
their shelf (`picking.reservations_units_picked`, registered by `WarehouseConfig.ready()`).
A pick task's units go back once: `PutBack.pick_task` is unique, and each path takes only
tasks without one. The pick screen's `picking.pick_list_drop_cancelled` withdraws, the same
way, totes it still finds on the walk whose fulfillment left by another path.

Lock order: the caller holds the lock of the tasks' order (`fulfillment_lock`, or the order
row for a cancel; every write to a pick task takes it first) and, for a cancel, has released
its reservations (stock levels before bins, docs/adr/0004); then bin rows, SKU by SKU, the
storage bin's row before the packing bin's (the order a pick takes them in, `bin_move`); then
pick list rows in pk order, then their wave's (as a pick closing its list takes them).
Imports nothing from orders (orders calls the top level of this package)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from inventory.models import Location
from warehouse.models import Bin, BinStock, Package, PickList, PickTask, PutBack, Wave
from warehouse.services.binstock import bin_add, bin_take, special_bin
from warehouse.services.receiving import putaway_suggestion

logger = logging.getLogger(__name__)

T = PickTask.Status


def bin_put_back(outbound_id: int, bin_id: int, sku_id: int, quantity: int) -> int:
    """Move up to `quantity` units of a SKU from the packing bin to a storage bin; returns
    the units moved (fewer only when the packing bin holds fewer). Locks the storage bin's
    row, then the packing bin's: the order a pick takes them in, so the two cannot deadlock."""
    if quantity <= 0:
        return 0
    BinStock.objects.get_or_create(bin_id=bin_id, sku_id=sku_id)
    list(BinStock.objects.select_for_update().filter(bin_id=bin_id, sku_id=sku_id))
    held = (BinStock.objects.select_for_update().filter(bin_id=outbound_id, sku_id=sku_id)
            .values_list("quantity", flat=True).first() or 0)
    moved = min(quantity, held)
    if moved and bin_take(outbound_id, sku_id, moved):
        bin_add(bin_id, sku_id, moved)
        return moved
    return 0


def _shelf_for(task: PickTask) -> Bin:
    """The bin the task picked from; if it was switched off since, where putaway would put
    the SKU (else that bin all the same: the units must be somewhere in the books)."""
    if task.bin.is_active:
        return task.bin
    return putaway_suggestion(task.bin.location_id, task.sku) or task.bin


def tasks_put_back(tasks: Iterable[PickTask]) -> list[PutBack]:
    """Book the units picked by these tasks (with `bin`, `sku` and `tote` loaded; none put
    back before) back from their location's packing bin to the bins they came from, and
    record each, open until someone confirms it where it is listed. Returns the records in
    walking order. Caller holds the lock of the tasks' orders."""
    tasks = [task for task in tasks if task.picked > 0]
    if not tasks:
        return []
    shelves = {task.pk: _shelf_for(task) for task in tasks}
    outbound = {loc: special_bin(loc, Bin.Kind.OUTBOUND) for loc in {task.bin.location_id for task in tasks}}
    rows = {}
    for task in sorted(tasks, key=lambda t: (t.sku_id, shelves[t.pk].pk, t.pk)):  # one lock order for all
        shelf, packing_bin = shelves[task.pk], outbound[task.bin.location_id]
        booked = bin_put_back(packing_bin.pk, shelf.pk, task.sku_id, task.picked) if packing_bin else 0
        if booked < task.picked:
            logger.warning("put-back of pick task %s: the packing bin held %s of the %s x %s picked", task.pk,
                           booked, task.picked, task.sku.code)
        rows[task.pk] = PutBack(location_id=task.bin.location_id, fulfillment_id=task.tote.fulfillment_id,
                                pick_task=task, sku=task.sku, bin=shelf, quantity=task.picked, booked=booked)
    PutBack.objects.bulk_create(rows.values())
    return [rows[task.pk] for task in sorted(tasks, key=lambda t: (t.sequence, t.pk))]


def pick_lists_close_if_done(pick_list_ids: Iterable[int]) -> None:
    """Mark done the pick lists left with no open task (and a wave whose lists are all
    done). Each list's row is locked before its tasks are counted, so a picker finishing the
    last pick and a cancel taking the last tote off the same list, at the same moment, cannot
    both see the other's task still open and leave the list open for ever."""
    ids = sorted(set(pick_list_ids))
    if not ids:
        return
    for pick_list in list(PickList.objects.select_for_update().filter(pk__in=ids).order_by("pk")):
        if pick_list.status == PickList.Status.DONE or PickTask.objects.filter(
                pick_list_id=pick_list.pk, status=T.OPEN).exists():
            continue
        PickList.objects.filter(pk=pick_list.pk).update(status=PickList.Status.DONE, finished_at=timezone.now())
        if pick_list.wave_id and not PickList.objects.filter(wave_id=pick_list.wave_id).exclude(
                status=PickList.Status.DONE).exists():
            Wave.objects.filter(pk=pick_list.wave_id).update(status=Wave.Status.DONE)


def _withdraw(fulfillment_ids: Sequence[int]) -> list[PutBack]:
    """Take these fulfillments' totes off every walk and book back what was picked for them."""
    open_tasks = PickTask.objects.filter(tote__fulfillment_id__in=fulfillment_ids, status=T.OPEN)
    walked = set(open_tasks.values_list("pick_list_id", flat=True))
    open_tasks.update(status=T.CANCELLED)
    tasks = (PickTask.objects.filter(tote__fulfillment_id__in=fulfillment_ids, picked__gt=0, put_back__isnull=True)
             .select_related("bin", "sku", "tote").order_by("pk"))
    rows = tasks_put_back(list(tasks))
    pick_lists_close_if_done(walked)
    return rows


def pick_work_withdraw(fulfillment_ids: Sequence[int], *, actor: str) -> list[PutBack]:
    """These fulfillments are no longer their location's to pick (rejected there, emptied by a
    count, or left on a walk by a path that did not take them off): their
    totes leave any pick walk at once, so no picker's list or screen shows them, and any unit
    already picked for them is booked back and listed to put back. Calling it again changes
    nothing. Caller holds the order's lock and a transaction."""
    if not fulfillment_ids:
        return []
    rows = _withdraw(fulfillment_ids)
    if rows:
        logger.info("fulfillments %s left the floor: %s line(s) to put back (%s)", list(fulfillment_ids),
                    len(rows), actor)
    return rows


@dataclass(frozen=True)
class LinesWithdrawn:
    """What `pick_lines_withdraw` did to one fulfillment's picks."""

    picks_cut: int  # open picks that left the walk or now ask for fewer units
    put_back: list[PutBack]  # units already picked, booked back and listed to put back
    left_to_pick: bool  # the fulfillment still has an open pick on a walk


def pick_lines_withdraw(fulfillment_id: int, keep: dict[int, int], *, actor: str) -> LinesWithdrawn:
    """Some lines of a fulfillment still on its location's floor hold fewer units now (a stock
    count released their reservations): `keep` is order line id -> units the fulfillment still
    holds of it. A line that holds nothing leaves the walk as a withdrawn tote does (`_withdraw`):
    its open picks close as `cancelled` and its picked units are booked back from the packing
    bin to their shelf and listed to put back (`tasks_put_back`). A line that keeps some units
    has its picks cut down to them, last in the walk first: open units first (a pick with
    nothing picked leaves the walk, one partly picked asks for fewer), then picked units beyond
    them go back. The fulfillment's other picks stay on the walk; a list left with nothing to
    pick is done. Calling it again changes nothing. Caller holds the order's lock and a
    transaction."""
    tasks = list(PickTask.objects.filter(tote__fulfillment_id=fulfillment_id, order_line_id__in=list(keep),
                                         put_back__isnull=True).exclude(status=T.CANCELLED)
                 .select_related("bin", "sku", "tote").select_for_update(of=("self",))  # after the order's lock
                 .order_by("-sequence", "-pk"))
    cut = 0
    back: list[PickTask] = []
    for line_id, kept in keep.items():
        line_tasks = [task for task in tasks if task.order_line_id == line_id]
        if kept <= 0:
            cancelled = [task.pk for task in line_tasks if task.status == T.OPEN]
            cut += PickTask.objects.filter(pk__in=cancelled, status=T.OPEN).update(status=T.CANCELLED)
            back += [task for task in line_tasks if task.picked]
            continue
        excess = sum(task.quantity - task.short for task in line_tasks) - kept
        for task in line_tasks:
            units = min(excess, task.remaining)
            if units > 0:
                _cut_open(task, units)
                cut, excess = cut + 1, excess - units
        for task in line_tasks:
            units = min(excess, task.picked)
            if units > 0:
                back.append(_picked_part(task, units))
                excess -= units
    rows = tasks_put_back(back)
    pick_lists_close_if_done({task.pick_list_id for task in tasks})
    if cut or rows:
        logger.info("fulfillment %s: %s pick(s) off the walk, %s line(s) to put back (%s)", fulfillment_id, cut,
                    len(rows), actor)
    left = PickTask.objects.filter(tote__fulfillment_id=fulfillment_id, status=T.OPEN).exists()
    return LinesWithdrawn(cut, rows, left)


def _cut_open(task: PickTask, units: int) -> None:
    """`units` of the task's open units leave the walk: all of a task with nothing picked
    (`cancelled`, its quantity kept for the record), else the task asks for fewer (and is done
    when nothing is left to pick)."""
    if task.picked == 0 and task.short == 0 and units == task.quantity:
        task.status = T.CANCELLED
        PickTask.objects.filter(pk=task.pk).update(status=task.status)
        return
    task.quantity -= units
    task.status = T.DONE if task.remaining == 0 else task.status
    PickTask.objects.filter(pk=task.pk).update(quantity=F("quantity") - units, status=task.status)


def _picked_part(task: PickTask, units: int) -> PickTask:
    """The pick whose `units` picked units go back: the task itself when all its picked units
    go, else a part split off it (a task is put back once and whole: `PutBack.pick_task`)."""
    if units == task.picked:
        return task
    part = PickTask.objects.create(pick_list_id=task.pick_list_id, tote=task.tote, order_line_id=task.order_line_id,
                                   sku=task.sku, bin=task.bin, sequence=task.sequence, quantity=units, picked=units,
                                   status=T.CANCELLED)
    PickTask.objects.filter(pk=task.pk).update(quantity=F("quantity") - units, picked=F("picked") - units)
    return part


def bins_put_back_cancelled(fulfillment_ids: Sequence[int], *, actor: str) -> list[PutBack]:
    """These fulfillments' order was cancelled: their totes leave any pick walk still going,
    the units picked for them (in a tote on the walk, in the packing bin, packed or on the
    pickup shelf) go back in the books to the bins they came from and are listed to put back
    (at the packing station, and on the screen of the pick list a tote was taken off) until
    someone confirms it; their packages are voided. Calling it again changes nothing. Caller
    holds the order's lock and a transaction, after releasing its reservations (orders'
    `order_cancel`)."""
    if not fulfillment_ids:
        return []
    rows = _withdraw(fulfillment_ids)
    voided = (Package.objects.filter(fulfillments__pk__in=fulfillment_ids, voided_at__isnull=True)
              .update(voided_at=timezone.now()))
    if rows or voided:
        logger.info("cancelled fulfillments %s: %s line(s) to put back, %s package(s) voided (%s)",
                    list(fulfillment_ids), len(rows), voided, actor)
    return rows


def put_back_text(quantity: int, sku_code: str, bin_code: str) -> str:
    """What to do, in the floor's words: "2 × TEE-WHT-M to bin A-01-1"."""
    return f"{quantity} × {sku_code} to bin {bin_code}"


def put_back_confirm(location: Location, fulfillment_id: int, *, actor: str) -> int:
    """Staff at the packing station say a cancelled order's units are back on their shelves:
    its put-backs leave the list. Returns how many were open (0: someone else confirmed
    them already; nothing changes)."""
    return (PutBack.objects.filter(location=location, fulfillment_id=fulfillment_id, done_at__isnull=True)
            .update(done_at=timezone.now(), done_by=actor[:100]))
