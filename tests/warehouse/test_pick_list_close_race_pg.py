"""On Postgres, with real threads: the last pick of one order on a batch list and the cancel
of the other order, whose tote the cancel takes off that list, at the same moment. Each sees
the other's task still open until the other commits; had neither waited for the other, the
list would be left open with nothing to pick for ever. The one that comes second waits on
the list's row and then closes it."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from orders.models import Order
from orders.services import order_cancel
from tests.conftest import requires_postgres, run_jobs_together, wait_until_another_waits_on_a_lock
from tests.warehouse.floor_flow import outbound
from tests.warehouse.floor_setup import build_floor, fulfillment_at, in_bin, place
from warehouse import selectors
from warehouse.checks import bin_violations
from warehouse.models import PickList, PickTask
from warehouse.services import picking

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_cancel_and_the_last_pick_on_the_same_list_close_it(monkeypatch):
    floor = build_floor()
    cancelled = place(floor, (floor.shirt, 1), (floor.shoe, 1))
    other = place(floor, (floor.cap, 1), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.pick_list_create(
            floor.wh, [fulfillment_at(cancelled, floor.wh), fulfillment_at(other, floor.wh)], kind="batch",
            actor="p")
    tee, cap, shoe = pick_list.tasks.order_by("sequence")
    assert (tee.sku, cap.sku, shoe.sku) == (floor.shirt, floor.cap, floor.shoe)
    with transaction.atomic():
        picking.pick_scan(tee, bin_code="WH1-A-01-1", item_code=floor.shirt.barcode, actor="p")

    checked = threading.Event()
    waited: list[bool] = []
    real_close = picking.pick_lists_close_if_done

    def close_then_wait_for_the_cancel(ids) -> None:
        real_close(ids)  # the shoe of the cancelled order is still open here: the list stays open
        checked.set()
        waited.append(wait_until_another_waits_on_a_lock())

    monkeypatch.setattr(picking, "pick_lists_close_if_done", close_then_wait_for_the_cancel)

    def pick() -> PickTask:
        return picking.pick_scan(cap, bin_code="WH1-A-02-1", item_code=floor.cap.barcode, actor="p")

    def cancel() -> Order:
        assert checked.wait(10)
        return order_cancel(Order.objects.select_for_update().get(pk=cancelled.pk), actor="channel:web")

    picked, done = run_jobs_together([pick, cancel])

    assert isinstance(picked, PickTask), picked
    assert isinstance(done, Order), done
    assert waited == [True]  # the cancel waited on the list's row while the pick held it
    assert PickList.objects.get(pk=pick_list.pk).status == "done"
    assert selectors.pick_lists(floor.wh).count() == 0
    assert fulfillment_at(other, floor.wh).status == "picked"
    assert PickTask.objects.get(pk=shoe.pk).status == "cancelled"
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (10, 0)
    assert in_bin(outbound(floor.wh), floor.cap) == 1
    assert bin_violations() == []
