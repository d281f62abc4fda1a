"""On Postgres, with real threads: a short pick (which releases and corrects one stock level,
then routes the missing unit again, taking another level, in one transaction) and a
placement taking both levels at once do not deadlock.

The store's shoe level has a higher pk than the Damrak warehouse's. The short pick at the
store waits (a hook before its reroute) until the placement is blocked on a row lock, then
reroutes the missing shoe to the warehouse. Had the short pick locked only the store's
level, the placement would hold the warehouse's and wait for the store's while the reroute
waits for the warehouse's: Postgres would abort one of them ("deadlock detected")."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.db.models import F

from inventory.checks import inventory_violations
from inventory.errors import InsufficientStock
from inventory.models import StockLevel
from inventory.services import stock_receive
from omnichannel import outbox
from orders.models import Order
from orders.services import ChannelContext, LineInput, OrderInput, order_place
from orders.services import floor as order_floor
from tests.conftest import requires_postgres, run_jobs_together, wait_until_another_waits_on_a_lock
from tests.warehouse.floor_setup import DAMRAK, build_floor, fulfillment_at, level, place
from warehouse.checks import bin_violations
from warehouse.models import PickTask
from warehouse.services import picking

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_short_pick_that_reroutes_and_a_placement_over_both_levels_do_not_deadlock(monkeypatch):
    floor = build_floor()
    # given an order for one shoe at the store: the Damrak warehouse's two shoes and Schiphol's
    # five were taken first
    place(floor, (floor.shoe, 2))
    place(floor, (floor.shoe, 5), email="cy@example.com", name="Cy")
    order = place(floor, (floor.shoe, 1), email="ann@example.com", name="Ann")
    at_store = fulfillment_at(order, floor.store)
    # then the warehouse gets two shoes again (the nearest place for the missing one)
    stock_receive(sku=floor.shoe, location=floor.wh, quantity=2, actor="test")
    store_level, wh_level = level(floor.shoe, floor.store), level(floor.shoe, floor.wh)
    assert wh_level.pk < store_level.pk
    assert level(floor.shoe, floor.wh2).reserved == level(floor.shoe, floor.wh2).on_hand  # none to spare there
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.store, [at_store], kind="single", actor="picker:s")
    task = pick_list.tasks.get()
    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)  # no routing but the short pick's

    shorted = threading.Event()
    real_reroute = order_floor.order_reroute_now

    def reroute_after_the_placement_waits(order_id, **kwargs):
        shorted.set()  # the store's level is released and corrected (and locked) by now
        waited.append(wait_until_another_waits_on_a_lock())
        return real_reroute(order_id, **kwargs)

    monkeypatch.setattr(order_floor, "order_reroute_now", reroute_after_the_placement_waits)
    waited: list[bool] = []

    def place_four_shoes() -> Order:  # as it reads the stock: 2 at the warehouse, 2 at the store
        assert shorted.wait(10)
        data = OrderInput(delivery_method="ship", email="bo@example.com", customer_name="Bo", address=DAMRAK,
                          lines=[LineInput(floor.shoe.code, 4)])
        return order_place(data, ChannelContext(channel_id=floor.channel.pk, actor="test"))[0]

    short, placed = run_jobs_together([lambda: picking.pick_short(task, reason="not_found", actor="picker:s"),
                                       place_four_shoes])
    assert waited == [True]  # the placement was blocked on a row lock when the second round began

    # then neither failed: the missing shoe is rerouted to the warehouse, the placement went
    # through or was told the stock is short (the reroute took a warehouse shoe first), and
    # every count still agrees
    assert isinstance(short, PickTask), short
    assert isinstance(placed, (Order, InsufficientStock)), placed
    order.refresh_from_db()
    assert order.routing_decisions.last().trigger == "short_pick"
    assert fulfillment_at(order, floor.wh).allocations.get(is_active=True).quantity == 1
    assert inventory_violations() == []
    assert bin_violations() == []
    assert not StockLevel.objects.filter(on_hand__lt=F("reserved")).exists()
