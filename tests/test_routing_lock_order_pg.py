"""On Postgres, with real threads: routing that moves an order's hold to another location
(releases one stock level, takes another) and a placement taking both levels at once do
not deadlock when the level routing takes has the lower primary key.

Routing releases the hold at the far location, then waits (a hook between its release and
its take) until the placement is blocked on a row lock, then takes at the near location.
If routing locked only the level it released, the placement would hold the near level and
wait for the far one while routing waits for the near one: Postgres would abort one of
them ("deadlock detected")."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.db.models import Sum

from inventory.checks import inventory_violations
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from omnichannel import outbox
from orders.models import Allocation, Fulfillment, Order
from orders.services import (
    AddressInput,
    ChannelContext,
    LineInput,
    OrderInput,
    order_place,
    order_route,
    routing,
)
from tests import factories
from tests.conftest import requires_postgres, run_jobs_together, wait_until_another_waits_on_a_lock

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAMRAK = AddressInput(name="Lock", line1="Damrak 70", city="Amsterdam", postal_code="1012LM", country="NL",
                      latitude=52.376, longitude=4.897)


def order_of(quantity: int, index: int) -> OrderInput:
    return OrderInput(delivery_method="ship", lines=[LineInput("LOCK-SKU", quantity)], email=f"lock{index}@example.com",
                      customer_name=f"Lock {index}", external_id=f"lock-{index}", address=DAMRAK)


def test_routing_that_moves_a_hold_and_a_placement_over_both_levels_do_not_deadlock(web_channel, monkeypatch):
    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)  # route only when the test says
    near = factories.StoreFactory(code="LOCK-NEAR", latitude=52.377, longitude=4.898)  # at the door
    far = factories.LocationFactory(code="LOCK-FAR", latitude=52.47, longitude=4.62)
    sku = factories.SkuFactory(code="LOCK-SKU")
    near_level = StockLevel.objects.create(sku=sku, location=near, on_hand=0)  # the lower pk, empty for now
    stock_receive(sku=sku, location=far, quantity=5, actor="test")
    far_level = StockLevel.objects.get(sku=sku, location=far)
    assert near_level.pk < far_level.pk
    ctx = ChannelContext(channel_id=web_channel.pk, actor="test")
    # given an order of 2 held at the far location (the only one with stock when it was placed)
    with transaction.atomic():
        first, _ = order_place(order_of(2, 1), ctx)
    assert set(Allocation.objects.filter(order_line__order=first).values_list("location_id", flat=True)) == {far.pk}
    # and 3 units arrive at the near location: routing will move the hold there
    stock_receive(sku=sku, location=near, quantity=3, actor="test")

    released = threading.Event()
    real_reserve_plan = routing.reserve_plan

    def reserve_after_the_placement_waits(*args, **kwargs):
        released.set()  # the far level is released (and locked) by now
        waited.append(wait_until_another_waits_on_a_lock())
        return real_reserve_plan(*args, **kwargs)

    monkeypatch.setattr(routing, "reserve_plan", reserve_after_the_placement_waits)
    waited: list[bool] = []

    def place_five() -> Order:  # 3 near + 2 far as it reads them, both levels at once
        assert released.wait(10)
        return order_place(order_of(5, 2), ctx)[0]

    route, placed = run_jobs_together([lambda: order_route(first.pk), place_five])
    assert waited == [True]  # the placement was blocked on a row lock when the second round began

    # then both went through: the first order now sits at the near location, the second
    # placed again on what was left (its first plan, 3 near + 2 far, lost the near units),
    # and every unit reserved is an open reservation of one of the two orders
    assert not isinstance(route, Exception), route
    assert isinstance(placed, Order), placed
    assert set(Fulfillment.objects.filter(order=first).values_list("location_id", flat=True)) == {near.pk}
    held = dict(Allocation.objects.filter(is_active=True).values_list("order_line__order")
                .annotate(units=Sum("quantity")).values_list("order_line__order", "units"))
    assert held == {first.pk: 2, placed.pk: 5}
    reserved = dict(StockLevel.objects.filter(sku=sku).values_list("pk", "reserved"))
    open_units = dict(Reservation.objects.filter(status=Reservation.Status.OPEN).values_list("stock_level")
                      .annotate(units=Sum("quantity")).values_list("stock_level", "units"))
    assert {pk: units for pk, units in reserved.items() if units} == open_units
    assert sum(reserved.values()) == 7
    assert inventory_violations() == []
