"""An order cancelled while its pick list is walked: its tote leaves the walk at once, the
units already in it go back in the books to their shelves once, and the put-back is listed
at the packing station (and on that pick list's screen) until someone says it is done,
whether or not anybody opens the pick list again (docs/adr/0005)."""

from __future__ import annotations

import pytest
from django.db import transaction

from orders.models import Order
from orders.services import order_cancel
from tests.warehouse.floor_flow import outbound
from tests.warehouse.floor_setup import fulfillment_at, in_bin, last_movement_id, level, movements, place
from tests.warehouse.test_floor_web import logged_in
from warehouse import selectors
from warehouse import services as warehouse_services
from warehouse.checks import bin_violations
from warehouse.models import PickList, PickTask, PutBack
from warehouse.services import picking

pytestmark = pytest.mark.django_db


def cancel(order: Order) -> None:
    with transaction.atomic():
        order_cancel(Order.objects.select_for_update().get(pk=order.pk), actor="channel:web", reason="changed mind")


def scan(task: PickTask, quantity: int = 1) -> None:
    with transaction.atomic():
        picking.pick_scan(task, bin_code=task.bin.barcode, item_code=task.sku.barcode, quantity=quantity,
                          actor="picker:p")


def bins(floor) -> tuple[int, int, int, int]:
    """Tees on their shelf, tees in the packing bin, shoes on their shelf, shoes in the packing bin."""
    return (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt),
            in_bin(floor.bins["A-03-2"], floor.shoe), in_bin(outbound(floor.wh), floor.shoe))


def test_a_tote_cancelled_mid_walk_is_put_back_without_its_pick_list_being_opened_again(floor):
    order = place(floor, (floor.shirt, 1), (floor.shoe, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    tee, shoe = pick_list.tasks.order_by("sequence")
    scan(tee)  # the tee is in the tote, the picker walks to the shoe...
    assert bins(floor) == (9, 1, 2, 0)
    before = last_movement_id()

    # ...when the customer cancels; the picker drops the list and never opens it again
    cancel(order)

    # the tee is back on its shelf in the books, the shoe was never taken
    assert bins(floor) == (10, 0, 2, 0)
    shirt, shoes = level(floor.shirt, floor.wh), level(floor.shoe, floor.wh)
    assert (shirt.on_hand, shirt.reserved, shoes.on_hand, shoes.reserved) == (10, 0, 2, 0)
    assert [m for m in movements(floor.shirt, floor.wh, before) + movements(floor.shoe, floor.wh, before)
            if m[0] == "on_hand"] == []  # nothing entered or left the building
    assert bin_violations() == []
    # the packing station, where the tote ends up, says what to put back where
    packer = logged_in(floor.wh, "packer-wh1")
    assert "1 to put back" in packer.get("/wms/").content.decode()
    station = packer.get("/wms/pack/").content.decode()
    tote = pick_list.totes.get()
    assert f"Order {order.number} was cancelled · tote {tote.code}" in station
    assert "Put back 1 × TEE-WHT-M to bin A-01-1" in station and "RUN-BLK-42" not in station
    scanned = packer.post("/wms/pack/", {"code": tote.code})  # the tote arrives: not packed, told what to do
    assert scanned.status_code == 409
    assert "do not pack it, put back 1 × TEE-WHT-M to bin A-01-1" in scanned.content.decode()
    # the shoe is nobody's work any more: the list is done and off the pickers' screen
    pick_list.refresh_from_db()
    assert pick_list.status == "done"
    assert "No pick list open." in packer.get("/wms/pick/").content.decode()
    assert selectors.home_counts(floor.wh).pick_lists == 0

    # the packer puts the tee back and says so
    packer.post("/wms/pack/", {"step": "put_back", "fulfillment": fulfillment.pk})
    assert selectors.put_backs_open(floor.wh) == []
    assert [(p.quantity, p.booked, p.done_by) for p in PutBack.objects.all()] == [(1, 1, "picker:packer-wh1")]

    # a picker opening the old list later books nothing a second time
    picker = logged_in(floor.wh, "picker-wh1")
    assert f"Pick list {pick_list.number} done" in picker.get(f"/wms/pick/{pick_list.pk}/").content.decode()
    with transaction.atomic():
        assert picking.pick_list_drop_cancelled(PickList.objects.get(pk=pick_list.pk), actor="picker:p") == []
    assert bins(floor) == (10, 0, 2, 0) and PutBack.objects.count() == 1
    assert bin_violations() == []


def test_the_pick_screen_shows_the_cancelled_tote_until_the_picker_confirms_it_and_books_it_once(floor):
    first = place(floor, (floor.shirt, 2), (floor.shoe, 1))
    second = place(floor, (floor.shoe, 1), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.pick_list_create(
            floor.wh, [fulfillment_at(first, floor.wh), fulfillment_at(second, floor.wh)], kind="batch",
            actor="picker:p")
    tees = pick_list.tasks.get(sku=floor.shirt)
    scan(tees, quantity=1)  # one of the two tees is in the first tote
    assert bins(floor) == (9, 1, 2, 0)

    cancel(first)

    # booked back at once (the walk's half-picked task included) and listed at the packing station
    assert bins(floor) == (10, 0, 2, 0)
    assert bin_violations() == []
    assert [(c.order_number, c.lines) for c in selectors.put_backs_open(floor.wh)] == [
        (first.number, ["1 × TEE-WHT-M to bin A-01-1"])]
    # the picker's next screen says so, and goes on with the other order's shoe
    picker = logged_in(floor.wh, "picker-wh1")
    page = f"/wms/pick/{pick_list.pk}/"
    text = picker.get(page).content.decode()
    tote = pick_list.totes.get(fulfillment__order=first)
    assert f"Order {first.number} was cancelled: tote {tote.code} is off this list" in text
    assert "Put back 1 × TEE-WHT-M to bin A-01-1" in text
    assert "pick 1 of 1" in text and "A-03-2" in text and second.number in text
    assert picker.get(page).content.decode().count(f"Order {first.number} was cancelled") == 1  # still there, once
    assert bins(floor) == (10, 0, 2, 0) and PutBack.objects.count() == 1  # loading it booked nothing more

    # the picker puts the tee back and taps "Done": gone from both screens
    done = picker.post(page, {"step": "put_back", "fulfillment": tote.fulfillment_id}, follow=True)
    assert done.status_code == 200
    assert f"Order {first.number} was cancelled" not in done.content.decode()
    assert selectors.put_backs_open(floor.wh) == []
    assert "was cancelled" not in picker.get("/wms/pack/").content.decode()
    assert list(PutBack.objects.values_list("quantity", "booked", "done_by")) == [(1, 1, "picker:picker-wh1")]

    # the walk ends with the other order's shoe
    shoe = pick_list.tasks.get(tote__fulfillment__order=second)
    assert picker.post(page, {"step": "item", "bin": "WH1-A-03-2", "code": floor.shoe.barcode,
                              "task": shoe.pk}).status_code == 302
    pick_list.refresh_from_db()
    assert pick_list.status == "done" and fulfillment_at(second, floor.wh).status == "picked"
    assert bins(floor) == (10, 0, 1, 1)
    assert bin_violations() == []


def test_the_pick_screens_clean_up_and_a_retried_cancel_hook_book_nothing_more(floor):
    """The cancel books each task's units once; the pick screen's own clean-up (for totes it
    still finds on the walk) and a hook delivered twice find nothing left to do."""
    order = place(floor, (floor.shirt, 1), (floor.shoe, 1))
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment_at(order, floor.wh)], kind="single",
                                             actor="picker:p")
    scan(pick_list.tasks.order_by("sequence").first())
    cancel(order)
    with transaction.atomic():
        assert picking.pick_list_drop_cancelled(pick_list, actor="picker:p") == []
    with transaction.atomic():
        assert warehouse_services.bins_put_back_cancelled([order.fulfillments.get().pk], actor="retry") == []
    assert bins(floor) == (10, 0, 2, 0) and PutBack.objects.count() == 1
    assert bin_violations() == []
