"""Postgres: a count's follow-up that takes one line of a tote off the walk, and a pick of that
line, at the same moment. Both take the order's lock first (docs/adr/0005), so one waits for
the other: a pick that got there first is put back, a pick that comes second is refused."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory.checks import inventory_violations
from inventory.services import stock_count
from omnichannel import outbox
from omnichannel.models import OutboxEvent
from orders.models import Allocation, Fulfillment, Order
from tests.conftest import requires_postgres
from tests.warehouse.floor_flow import on_a_walk, outbound, scan
from tests.warehouse.floor_setup import build_floor, in_bin, level, place
from tests.warehouse.test_count_releases_tote import _follow_up_first_then_pick, _pick_first_then_follow_up
from warehouse.checks import bin_violations
from warehouse.errors import NotReady
from warehouse.models import PickList, PickTask, PutBack
from warehouse.services import putback

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _tee_line_counted_away(monkeypatch) -> tuple[object, Order, Fulfillment, PickTask, list[int]]:
    """Two tees and a cap for Eva on a walk at Damrak, the cap picked; a count of one tee
    committed (the tees' reservation released), its follow-up not yet run. Returns the floor,
    the order, its fulfillment, the tee pick and the released reservations."""
    floor = build_floor()
    order = place(floor, (floor.shirt, 2), (floor.cap, 1))
    fulfillment, pick_list = on_a_walk(floor, order)
    scan(pick_list.tasks.get(sku=floor.cap))
    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)  # the follow-up runs in the test
    with transaction.atomic():
        stock_count(level(floor.shirt, floor.wh), 1, actor="ops:count")
    released = [r["id"] for r in OutboxEvent.objects.get(type="inventory.reservations_released")
                .payload["reservations"]]
    return floor, order, fulfillment, pick_list.tasks.get(sku=floor.shirt), released


def _held(fulfillment: Fulfillment) -> dict[str, int]:
    return dict(Allocation.objects.filter(fulfillment=fulfillment, is_active=True)
                .values_list("order_line__sku__code", "quantity"))


def test_a_pick_of_the_line_holding_the_order_makes_the_follow_up_wait_then_its_unit_goes_back(monkeypatch):
    floor, order, fulfillment, tee, released = _tee_line_counted_away(monkeypatch)
    picked, routed, waited = _pick_first_then_follow_up(monkeypatch, tee, released)

    # the follow-up waited for the pick, then took the tee line off: the tee just picked goes
    # back to its shelf, nothing is left to pick, and the cap goes to packing alone
    assert isinstance(picked, PickTask), picked
    assert routed == {order.pk}, routed
    assert waited == [True]
    assert (PickTask.objects.get(pk=tee.pk).status, PickTask.objects.get(pk=tee.pk).picked) == ("cancelled", 1)
    assert list(PutBack.objects.values_list("sku__code", "quantity", "booked", "done_at")) == [
        ("TEE-WHT-M", 1, 1, None)]
    here = Fulfillment.objects.get(pk=fulfillment.pk)
    assert (here.status, _held(here)) == ("picked", {"CAP-RED": 1})
    assert PickList.objects.get(pk=tee.pick_list_id).status == "done"
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (1, 0)
    assert bin_violations() == []
    assert inventory_violations() == []


def test_the_follow_up_holding_the_order_makes_a_pick_of_the_line_wait_then_refuses_it(monkeypatch):
    floor, order, fulfillment, tee, released = _tee_line_counted_away(monkeypatch)
    picked, routed, waited = _follow_up_first_then_pick(monkeypatch, putback, "pick_lines_withdraw", tee, released)

    # the pick waited for the follow-up, then found the tee off the list: nothing moved
    assert routed == {order.pk}, routed
    assert isinstance(picked, NotReady), picked
    assert "stock count" in picked.detail
    assert waited == [True]
    assert (PickTask.objects.get(pk=tee.pk).status, PickTask.objects.get(pk=tee.pk).picked) == ("cancelled", 0)
    assert PutBack.objects.count() == 0
    here = Fulfillment.objects.get(pk=fulfillment.pk)
    assert (here.status, _held(here)) == ("picked", {"CAP-RED": 1})
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (1, 0)
    assert bin_violations() == []
    assert inventory_violations() == []
