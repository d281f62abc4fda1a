"""Daily order capacity: the per-location counter routing checks, kept true through every
way a fulfillment comes and goes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import StockLevel
from inventory.services import stock_count
from orders import services
from orders.models import Fulfillment, LocationDayLoad, Order
from orders.services import capacity
from orders.services.floor import fulfillment_short, order_reroute_now
from tests.conftest import requires_postgres, run_at_once
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def counted_the_slow_way() -> dict[int, int]:
    """What the counter stands for, counted from the fulfillments themselves."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (Fulfillment.objects.filter(created_at__gte=start).exclude(status__in=capacity.NOT_COUNTED)
            .values_list("location_id", flat=True))
    return dict(Counter(rows))


def test_a_full_location_is_passed_over_and_a_rejection_frees_its_place(network, channel_client, picker_client_for):
    st1 = network["ST1"]
    first = place(channel_client, ship_order(("RUN-BLK-42", 1)))
    assert first.fulfillments.get().location == st1  # nearest to Damrak, with the shoe

    st1.daily_order_capacity = 1
    st1.save()
    second = place(channel_client, ship_order(("RUN-BLK-42", 1), email="ann@example.com"))
    assert second.fulfillments.get().location != st1  # ST1 has had its one order today
    assert capacity.orders_today([st1.pk]) == {st1.pk: 1}

    # ST1 gives its order back: its place is free again, and the next order gets it.
    response = picker_client_for(st1).post(f"/api/v1/fulfillments/{first.fulfillments.get().pk}/reject/",
                                           {"reason": "capacity"}, format="json")
    assert response.status_code == 200, response.content
    assert capacity.orders_today([st1.pk]) == {}
    third = place(channel_client, ship_order(("RUN-BLK-42", 1), email="bo@example.com"))
    assert third.fulfillments.get().location == st1


def test_the_counter_follows_routing_rejection_cancellation_and_short_picks(network, channel_client):
    orders = [place(channel_client, ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 1), email=f"c{i}@example.com"))
              for i in range(4)]
    assert capacity.orders_today(counted_the_slow_way()) == counted_the_slow_way() != {}

    with transaction.atomic():  # rejected: not counted where it was, counted where it goes next
        services.fulfillment_reject(services.fulfillment_lock(orders[0].fulfillments.get().pk), reason="capacity",
                                    actor="test")
    with transaction.atomic():  # cancelled: counted nowhere
        services.order_cancel(Order.objects.select_for_update().get(pk=orders[1].pk), actor="test")
    fulfillment = orders[2].fulfillments.get()
    with transaction.atomic():  # short of every unit: the fulfillment is cancelled, the order re-routed
        locked = services.fulfillment_lock(fulfillment.pk)
        services.fulfillment_accept(locked, actor="test")
        for line in orders[2].lines.all():
            fulfillment_short(services.fulfillment_lock(fulfillment.pk), order_line_id=line.pk,
                              missing=line.quantity, reason="not_found", actor="test")
        order_reroute_now(orders[2].pk, actor="test")
    gone = orders[3].fulfillments.get()
    with transaction.atomic():  # a count finds none of its units: cancelled by inventory, the order re-routed
        for level in StockLevel.objects.filter(location=gone.location, sku__in=[network["shoe"], network["shirt"]]):
            stock_count(level, 0, actor="test")
    assert Fulfillment.objects.get(pk=gone.pk).status == "cancelled"

    statuses = set(Fulfillment.objects.values_list("status", flat=True))
    assert {"rejected", "cancelled", "pending"} <= statuses
    every = list(Fulfillment.objects.values_list("location_id", flat=True).distinct())
    assert capacity.orders_today(every) == counted_the_slow_way()


def test_orders_today_reads_todays_counters_only(network):
    wh1, st1 = network["WH1"], network["ST1"]
    today = timezone.localdate()
    LocationDayLoad.objects.bulk_create(
        [LocationDayLoad(location=wh1, day=today - timedelta(days=d), shard=s, fulfillments=100) for d in range(1, 30)
         for s in range(3)]
        + [LocationDayLoad(location=wh1, day=today, shard=0, fulfillments=4),
           LocationDayLoad(location=wh1, day=today, shard=5, fulfillments=3),
           LocationDayLoad(location=st1, day=today + timedelta(days=1), shard=0, fulfillments=9)])

    assert capacity.orders_today([wh1.pk, st1.pk]) == {wh1.pk: 7}
    assert capacity.orders_today([]) == {}


def test_the_migration_starts_the_counters_from_the_fulfillments_already_there(network, channel_client):
    for i in range(3):
        place(channel_client, ship_order(("TEE-WHT-M", 1), email=f"m{i}@example.com"))
    expected = counted_the_slow_way()
    LocationDayLoad.objects.all().delete()
    migration = __import__("orders.migrations.0004_location_day_load", fromlist=["count_existing"])

    migration.count_existing(apps, None)

    assert capacity.orders_today(expected) == expected


@requires_postgres
def test_concurrent_routings_lose_no_count_and_do_not_wait_on_one_row(network, channel_client, web_channel):
    wh1 = network["WH1"]
    for location in ("ST1", "ST2", "ST9"):
        network[location].is_active = False
        network[location].save()
    orders = [place(channel_client, ship_order(("TEE-WHT-M", 1), email=f"t{i}@example.com")) for i in range(16)]
    routed_eagerly = capacity.orders_today([wh1.pk])
    # Undo what eager routing did, so that 16 threads route the same orders again at once.
    from orders.models import Allocation
    Allocation.objects.filter(order_line__order__in=orders).update(fulfillment=None)
    Fulfillment.objects.filter(order__in=orders).delete()
    LocationDayLoad.objects.all().delete()
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.PLACED)
    queue = list(orders)

    def route_one() -> None:
        order = queue.pop()
        with transaction.atomic():
            services.order_route(order.pk)

    run_at_once(route_one, len(orders))

    assert routed_eagerly == {wh1.pk: 16}
    assert Fulfillment.objects.filter(order__in=orders, location=wh1).count() == 16
    assert capacity.orders_today([wh1.pk]) == {wh1.pk: 16}
    assert 1 < LocationDayLoad.objects.filter(location=wh1).count() <= capacity.SHARDS


def test_reading_the_counter_does_not_touch_the_fulfillments(network):
    with CaptureQueriesContext(connection) as ctx:
        capacity.orders_today([network["WH1"].pk, network["ST1"].pk])
    assert len(ctx.captured_queries) == 1
    assert "orders_fulfillment" not in ctx.captured_queries[0]["sql"]
