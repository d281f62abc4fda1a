"""Waves, batch pick lists, picking by scanning, short picks that re-route."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import transaction

from omnichannel.models import OutboxEvent
from orders.models import Fulfillment, Order
from orders.services import order_cancel
from tests.warehouse.floor_setup import (
    fulfillment_at,
    in_bin,
    last_movement_id,
    level,
    movements,
    place,
    special,
)
from warehouse import selectors
from warehouse.checks import bin_violations
from warehouse.errors import NoBins, NothingToPick, NotReady, TooMany, WrongBin, WrongItem
from warehouse.models import PickList, PickTask, Wave
from warehouse.services import picking

pytestmark = pytest.mark.django_db


def three_orders(floor):
    o1 = place(floor, (floor.shoe, 1), (floor.shirt, 1))
    o2 = place(floor, (floor.shirt, 2), email="ann@example.com", name="Ann")
    o3 = place(floor, (floor.cap, 1), (floor.shoe, 1), email="bob@example.com", name="Bob")
    return o1, o2, o3


def wave(floor, **kwargs) -> PickList:
    with transaction.atomic():
        w = picking.wave_create(floor.wh, actor="ops:ops", **kwargs)
    return w.pick_lists.get()


def test_a_wave_batches_the_waiting_fulfillments_into_one_walk_in_bin_order(floor):
    o1, o2, o3 = three_orders(floor)
    pick_list = wave(floor)
    assert pick_list.kind == "batch"
    assert [t.fulfillment.order for t in pick_list.totes.all()] == [o1, o2, o3]
    walk = [(t.bin.code, t.sku.code, t.tote.position, t.quantity) for t in pick_list.tasks.order_by("sequence")]
    assert walk == [("A-01-1", "TEE-WHT-M", 1, 1), ("A-01-1", "TEE-WHT-M", 2, 2), ("A-02-1", "CAP-RED", 3, 1),
                    ("A-03-2", "RUN-BLK-42", 1, 1), ("A-03-2", "RUN-BLK-42", 3, 1)]
    assert {f.status for f in (fulfillment_at(o, floor.wh) for o in (o1, o2, o3))} == {"accepted"}


def test_a_wave_by_delivery_method_or_cutoff_leaves_the_others(floor):
    place(floor, (floor.shirt, 1))
    with pytest.raises(NothingToPick, match="No fulfillment waits"), transaction.atomic():
        picking.wave_create(floor.wh, delivery_method="pickup", actor="ops:ops")
    with pytest.raises(NothingToPick), transaction.atomic():  # no carrier service chosen yet: no cutoff known
        picking.wave_create(floor.wh, cutoff_before=time(18), actor="ops:ops")
    assert Wave.objects.count() == 0
    assert wave(floor, delivery_method="ship").tasks.count() == 1


def test_a_wave_by_carrier_cutoff_takes_the_services_cutting_off_first(floor):
    express = place(floor, (floor.shirt, 1))
    standard = place(floor, (floor.cap, 1))
    Order.objects.filter(pk=express.pk).update(promise_option="ship:omnipost-express")  # cutoff 15:00
    Order.objects.filter(pk=standard.pk).update(promise_option="ship:omnipost-standard")  # cutoff 17:00
    pick_list = wave(floor, cutoff_before=time(15, 30))
    assert [t.fulfillment.order_id for t in pick_list.totes.all()] == [express.pk]
    assert picking.open_fulfillments(floor.wh) == [fulfillment_at(standard, floor.wh)]


def test_a_picker_cannot_pick_without_bins(floor):
    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    Fulfillment.objects.filter(pk=fulfillment.pk).update(location=floor.wh2)
    fulfillment.refresh_from_db()
    with pytest.raises(NoBins), transaction.atomic():
        picking.pick_list_create(floor.wh2, [fulfillment], kind="single", actor="picker:p")
    assert PickList.objects.count() == 0


def scan(task, bin_code, item_code, quantity=1):
    with transaction.atomic():
        return picking.pick_scan(task, bin_code=bin_code, item_code=item_code, quantity=quantity, actor="picker:p")


def test_wrong_bin_or_wrong_item_records_nothing(floor):
    o1, _, _ = three_orders(floor)
    pick_list = wave(floor)
    first = pick_list.tasks.order_by("sequence").first()
    before = last_movement_id()
    events_before = OutboxEvent.objects.count()
    with pytest.raises(WrongBin, match="go to bin A-01-1"):
        scan(first, "WH1-A-02-1", floor.shirt.barcode)
    with pytest.raises(WrongItem):
        scan(first, "WH1-A-01-1", floor.shoe.barcode)
    with pytest.raises(WrongItem):
        scan(first, "WH1-A-01-1", "no-such-code")
    with pytest.raises(TooMany):
        scan(first, "WH1-A-01-1", floor.shirt.barcode, quantity=2)
    first.refresh_from_db()
    assert (first.picked, first.status) == (0, "open")
    assert fulfillment_at(o1, floor.wh).status == "accepted"
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 10
    assert last_movement_id() == before and OutboxEvent.objects.count() == events_before


def test_first_scan_starts_picking_and_tells_the_customer(floor):
    o1, _, _ = three_orders(floor)
    pick_list = wave(floor)
    first = pick_list.tasks.order_by("sequence").first()
    scan(first, "a-01-1", floor.shirt.code)  # the bin's code typed, the SKU code typed
    fulfillment = fulfillment_at(o1, floor.wh)
    assert fulfillment.status == "picking"
    o1.refresh_from_db()
    assert o1.status == Order.Status.IN_PROGRESS
    started = OutboxEvent.objects.filter(type="fulfillment.picking_started").get()
    assert started.payload["order_number"] == o1.number
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 9
    assert in_bin(special(floor.wh, "outbound"), floor.shirt) == 1
    assert level(floor.shirt, floor.wh).on_hand == 10  # still here until it ships
    assert bin_violations() == []


def test_batch_pick_with_a_short_pick_reroutes_the_missing_unit(floor):
    o1, o2, o3 = three_orders(floor)
    pick_list = wave(floor)
    tasks = list(pick_list.tasks.order_by("sequence"))
    scan(tasks[0], "WH1-A-01-1", floor.shirt.barcode)
    scan(tasks[1], "WH1-A-01-1", floor.shirt.barcode, quantity=2)
    scan(tasks[2], "WH1-A-02-1", floor.cap.barcode)
    scan(tasks[3], "WH1-A-03-2", floor.shoe.barcode)
    before = last_movement_id()
    with transaction.atomic():
        picking.pick_short(tasks[4], reason="not_found", actor="picker:p")

    # the bin was short: on_hand fell by one through a movement, the bin with it
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.reserved) == (1, 1)
    assert movements(floor.shoe, floor.wh, before) == [("reserved", -1, "short_pick"), ("on_hand", -1, "lost")]
    assert in_bin(floor.bins["A-03-2"], floor.shoe) == 0
    # the missing shoe went back to the router at once: another location holds it now
    o3.refresh_from_db()
    moved = o3.fulfillments.exclude(location=floor.wh).get()
    assert moved.status == "pending" and moved.allocations.get(is_active=True).quantity == 1
    assert o3.routing_decisions.last().trigger == "short_pick"
    # the cap was found: o3's fulfillment here is picked with the cap only
    here = fulfillment_at(o3, floor.wh)
    assert here.status == "picked"
    assert [(a.order_line.sku.code, a.quantity) for a in here.allocations.filter(is_active=True)] == [("CAP-RED", 1)]
    assert {fulfillment_at(o, floor.wh).status for o in (o1, o2)} == {"picked"}
    pick_list.refresh_from_db()
    assert pick_list.status == "done" and pick_list.wave.status == "done"
    assert PickTask.objects.get(pk=tasks[4].pk).short_reason == "not_found"
    assert bin_violations() == []


def test_a_damaged_short_pick_moves_the_unit_to_damaged_and_quarantine(floor):
    order = place(floor, (floor.shoe, 2))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    task = pick_list.tasks.get()
    scan(task, "WH1-A-03-2", floor.shoe.barcode)
    with transaction.atomic():
        picking.pick_short(task, reason="damaged", actor="picker:p")
    shoe = level(floor.shoe, floor.wh)
    assert (shoe.on_hand, shoe.reserved, shoe.damaged) == (2, 1, 1)
    assert in_bin(special(floor.wh, "quarantine"), floor.shoe) == 1
    assert in_bin(special(floor.wh, "outbound"), floor.shoe) == 1
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked"
    order.refresh_from_db()
    assert order.fulfillments.exclude(location=floor.wh).get().allocations.get(is_active=True).quantity == 1
    assert bin_violations() == []


def test_a_fulfillment_short_of_everything_is_cancelled_and_rerouted_whole(floor):
    order = place(floor, (floor.shoe, 2))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    with transaction.atomic():
        picking.pick_short(pick_list.tasks.get(), reason="not_found", actor="picker:p")
    fulfillment.refresh_from_db()
    assert fulfillment.status == "cancelled"
    order.refresh_from_db()
    assert order.status == "allocated"
    assert order.fulfillments.get(status="pending").location != floor.wh
    assert level(floor.shoe, floor.wh).on_hand == 0
    assert bin_violations() == []


def test_a_fulfillment_already_on_an_open_pick_list_is_not_put_on_a_second(floor):
    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        first = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    # a double tap on "start", or a second picker on a stale screen
    with pytest.raises(NotReady, match="already on pick list"), transaction.atomic():
        picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:q")
    assert list(PickList.objects.all()) == [first]
    assert PickTask.objects.count() == 1
    scan(first.tasks.get(), "WH1-A-01-1", floor.shirt.barcode)
    first.refresh_from_db()
    assert first.status == "done" and fulfillment_at(order, floor.wh).status == "picked"
    assert in_bin(special(floor.wh, "outbound"), floor.shirt) == 1
    assert bin_violations() == []


def test_an_order_cancelled_mid_walk_leaves_the_list_and_its_picked_units_go_back(floor):
    o1, o2, o3 = three_orders(floor)
    pick_list = wave(floor)
    tasks = list(pick_list.tasks.order_by("sequence"))  # o1 shirt, o2 shirts, o3 cap, o1 shoe, o3 shoe
    scan(tasks[0], "WH1-A-01-1", floor.shirt.barcode)
    scan(tasks[1], "WH1-A-01-1", floor.shirt.barcode, quantity=2)
    scan(tasks[2], "WH1-A-02-1", floor.cap.barcode)
    with transaction.atomic():  # the customer cancels while the picker walks to o1's shoe
        order_cancel(Order.objects.select_for_update().get(pk=o1.pk), actor="channel:web")
    # o1's tote is off the walk at once: its shoe is nobody's to pick, its tee goes back
    with pytest.raises(NotReady, match="off the list"):
        scan(tasks[3], "WH1-A-03-2", floor.shoe.barcode)
    tote = pick_list.totes.get(fulfillment__order=o1)
    assert PickTask.objects.get(pk=tasks[3].pk).status == "cancelled"
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 8  # o1's shirt is back on its shelf, o2's two are not
    assert in_bin(special(floor.wh, "outbound"), floor.shirt) == 2
    assert [(c.order_number, c.totes, c.lines) for c in selectors.put_backs_open(floor.wh, pick_list=pick_list)] \
        == [(o1.number, [tote.code], ["1 × TEE-WHT-M to bin A-01-1"])]
    with transaction.atomic():
        assert picking.pick_list_drop_cancelled(pick_list, actor="picker:p") == []  # nothing left for the screen
    assert bin_violations() == []
    # ...and the walk goes on with the others
    assert selectors.next_task(pick_list) == tasks[4]
    scan(tasks[4], "WH1-A-03-2", floor.shoe.barcode)
    pick_list.refresh_from_db()
    assert pick_list.status == "done" and pick_list.wave.status == "done"
    assert {fulfillment_at(o, floor.wh).status for o in (o2, o3)} == {"picked"}
    with transaction.atomic():
        assert picking.pick_list_drop_cancelled(pick_list, actor="picker:p") == []  # once only
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 8
    assert bin_violations() == []
