"""On Postgres, with real threads: a cancel that puts a picked tee back on its shelf and a
picker taking another tee from that shelf into the packing bin at the same moment do not
deadlock.

The pick holds the shelf's row (it has taken the tee) and waits, before it adds the tee to
the packing bin, until the cancel is blocked on a row lock. Had the put-back taken the
packing bin's row first and the shelf's second, the cancel would hold the packing bin's row
and wait for the shelf's while the pick waits for the packing bin's: Postgres would abort one
of them ("deadlock detected"). The put-back takes the shelf's row first, as a pick does."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from orders.models import Order
from orders.services import order_cancel
from tests.conftest import requires_postgres, run_jobs_together, wait_until_another_waits_on_a_lock
from tests.warehouse.floor_flow import outbound, pick_all
from tests.warehouse.floor_setup import build_floor, fulfillment_at, in_bin, place
from warehouse.checks import bin_violations
from warehouse.models import PickTask, PutBack
from warehouse.services import binstock, picking

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_put_back_and_a_pick_from_the_same_shelf_do_not_deadlock(monkeypatch):
    floor = build_floor()
    cancelled = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(cancelled, floor.wh))  # its tee waits in the packing bin
    other = place(floor, (floor.shirt, 1), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment_at(other, floor.wh)], kind="single", actor="p")
    task = pick_list.tasks.get()
    assert task.bin == floor.bins["A-01-1"]

    shelf_taken = threading.Event()
    waited: list[bool] = []
    real_bin_add = binstock.bin_add

    def add_once_the_cancel_waits(bin_id: int, sku_id: int, quantity: int) -> None:
        if not shelf_taken.is_set():  # the pick's move: the shelf's row is taken (and locked) by now
            shelf_taken.set()
            waited.append(wait_until_another_waits_on_a_lock())
        real_bin_add(bin_id, sku_id, quantity)

    monkeypatch.setattr(binstock, "bin_add", add_once_the_cancel_waits)

    def pick() -> PickTask:
        return picking.pick_scan(task, bin_code="WH1-A-01-1", item_code=floor.shirt.barcode, actor="p")

    def cancel() -> Order:
        assert shelf_taken.wait(10)
        return order_cancel(Order.objects.select_for_update().get(pk=cancelled.pk), actor="channel:web")

    picked, done = run_jobs_together([pick, cancel])

    assert waited == [True]  # the cancel was blocked on the shelf's row while the pick held it
    assert isinstance(picked, PickTask), picked
    assert isinstance(done, Order), done
    assert PickTask.objects.get(pk=task.pk).picked == 1
    assert list(PutBack.objects.values_list("quantity", "booked")) == [(1, 1)]
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 9  # 10, one picked for Ann, one put back
    assert in_bin(outbound(floor.wh), floor.shirt) == 1  # Ann's
    assert bin_violations() == []
