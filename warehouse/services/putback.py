"""Units of a cancelled order going back from the packing bin to the shelves (docs/adr/0005).

Picking moves units from storage bins into the location's packing (outbound) bin, where they
wait until they leave. When the order is cancelled before they leave:
- after its picking finished (picked, packed, or waiting on the pickup shelf), orders' cancel
  calls `bins_put_back_cancelled` in its transaction: the units go back in the books to the
  bins they were picked from, the fulfillment's packages are voided, and each line is
  recorded as an open `PutBack`, which the packing station lists ("put back 1 × SKU to bin
  B") until someone there confirms it (`put_back_confirm`);
- during its pick walk, the picker's screen takes the tote off the list
  (`picking.pick_list_drop_cancelled`) and puts its units back through `tasks_put_back` too,
  recorded done by the picker, who is told at once.
A pick task's units go back once: `PutBack.pick_task` is unique, and each path takes only
tasks without one (and the first leaves totes still being walked to the second).

Lock order: the caller holds the lock of the tasks' order (`fulfillment_lock`, or the order
row for a cancel) and, for a cancel, has released its reservations (stock levels before bins,
docs/adr/0004); then bin rows, SKU by SKU, the storage bin's row before the packing bin's (the
order a pick takes them in, `bin_move`). Imports nothing from orders (orders calls the top
level of this package)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.utils import timezone

from inventory.models import Location
from warehouse.models import Bin, BinStock, Package, PickTask, PutBack, Tote
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


def tasks_put_back(tasks: Iterable[PickTask], *, done_by: str = "") -> list[PutBack]:
    """Book the units picked by these tasks (with `bin`, `sku` and `tote` loaded; none put
    back before) back from their location's packing bin to the bins they came from, and
    record each: open for the packing station, or done by `done_by` (a picker told at
    once). Returns the records in walking order. Caller holds the lock of the tasks' orders."""
    tasks = [task for task in tasks if task.picked > 0]
    if not tasks:
        return []
    shelves = {task.pk: _shelf_for(task) for task in tasks}
    outbound = {loc: special_bin(loc, Bin.Kind.OUTBOUND) for loc in {task.bin.location_id for task in tasks}}
    done_at = timezone.now() if done_by else None
    rows = {}
    for task in sorted(tasks, key=lambda t: (t.sku_id, shelves[t.pk].pk, t.pk)):  # one lock order for all
        shelf, packing_bin = shelves[task.pk], outbound[task.bin.location_id]
        booked = bin_put_back(packing_bin.pk, shelf.pk, task.sku_id, task.picked) if packing_bin else 0
        if booked < task.picked:
            logger.warning("put-back of pick task %s: the packing bin held %s of the %s x %s picked", task.pk,
                           booked, task.picked, task.sku.code)
        rows[task.pk] = PutBack(location_id=task.bin.location_id, fulfillment_id=task.tote.fulfillment_id,
                                pick_task=task, sku=task.sku, bin=shelf, quantity=task.picked, booked=booked,
                                done_at=done_at, done_by=done_by[:100])
    PutBack.objects.bulk_create(rows.values())
    return [rows[task.pk] for task in sorted(tasks, key=lambda t: (t.sequence, t.pk))]


def bins_put_back_cancelled(fulfillment_ids: Sequence[int], *, actor: str) -> list[PutBack]:
    """These fulfillments' order was cancelled: the units picked for them that wait in the
    packing bin (picked, packed or on the pickup shelf) go back in the books to the bins they
    came from, listed at the packing station until put back; their packages are voided.
    Totes still on a pick walk are left to the picker's screen. Calling it again changes
    nothing. Caller holds the order's lock and a transaction, after releasing its
    reservations (orders' `order_cancel`)."""
    if not fulfillment_ids:
        return []
    walking = Tote.objects.filter(fulfillment_id__in=fulfillment_ids,
                                  tasks__status__in=[T.OPEN, T.CANCELLED]).values("pk")
    tasks = (PickTask.objects.filter(tote__fulfillment_id__in=fulfillment_ids, status__in=[T.DONE, T.SHORT],
                                     picked__gt=0, put_back__isnull=True)
             .exclude(tote_id__in=walking).select_related("bin", "sku", "tote").order_by("pk"))
    rows = tasks_put_back(list(tasks))
    voided = (Package.objects.filter(fulfillments__pk__in=fulfillment_ids, voided_at__isnull=True)
              .update(voided_at=timezone.now()))
    if rows or voided:
        logger.info("cancelled fulfillments %s: %s line(s) to put back, %s package(s) voided (%s)",
                    list(fulfillment_ids), len(rows), voided, actor)
    return rows


def put_back_text(quantity: int, sku_code: str, bin_code: str) -> str:
    """What to do, in the floor's words: "2 × TEE-WHT-M to bin A-01-1"."""
    return f"{quantity} × {sku_code} to bin {bin_code}"


def put_back_line(row: PutBack) -> str:
    return put_back_text(row.quantity, row.sku.code, row.bin.code)


def put_back_confirm(location: Location, fulfillment_id: int, *, actor: str) -> int:
    """Staff at the packing station say a cancelled order's units are back on their shelves:
    its put-backs leave the list. Returns how many were open (0: someone else confirmed
    them already; nothing changes)."""
    return (PutBack.objects.filter(location=location, fulfillment_id=fulfillment_id, done_at__isnull=True)
            .update(done_at=timezone.now(), done_by=actor[:100]))
