"""Per-order queries stay index lookups when history piles up (Postgres plans, after ANALYZE
as autovacuum would run it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Customer, LocationDayLoad, Order
from orders.services import capacity
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_daily_capacity_count_reads_today_only_not_the_locations_history(network):
    locations = [network["WH1"], network["ST1"], network["ST2"]]
    today = timezone.localdate()
    # A year of counters for each location, every shard used, then today's.
    LocationDayLoad.objects.bulk_create(
        LocationDayLoad(location=location, day=today - timedelta(days=d), shard=s, fulfillments=1)
        for location in locations for d in range(1, 366) for s in range(capacity.SHARDS))
    LocationDayLoad.objects.bulk_create(
        LocationDayLoad(location=location, day=today, shard=s, fulfillments=5)
        for location in locations for s in (1, 6))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_locationdayload")

    with CaptureQueriesContext(connection) as ctx:
        counts = capacity.orders_today([loc.pk for loc in locations])

    assert counts == {locations[0].pk: 10, locations[1].pk: 10, locations[2].pk: 10}
    plan = _plan(ctx.captured_queries[-1]["sql"])
    assert "location_day_load_unique" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_a_small_channels_order_list_reads_its_newest_orders_by_index_not_everyones(network, web_channel,
                                                                                   channel_client):
    from tests import factories

    app = factories.ChannelFactory(code="app", kind="app")
    customer = Customer.objects.create(email="lists@example.com")
    Order.objects.bulk_create(
        Order(number=f"OC-L{i:06d}", channel=app if i % 100 else web_channel, customer=customer,
              delivery_method="ship", ship_line1="Damrak 1", ship_city="Amsterdam", ship_country="NL")
        for i in range(8000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")

    with CaptureQueriesContext(connection) as ctx:
        response = channel_client.get("/api/v1/orders/?limit=20")

    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 80 and len(page["results"]) == 20
    assert {o["channel"] for o in page["results"]} == {"web"}
    listing = next(q["sql"] for q in ctx.captured_queries
                   if 'FROM "orders_order"' in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"])
    plan = _plan(listing)
    assert "order_channel_placed" in plan, plan
    assert "Sort" not in plan, plan  # the rows come in order from the index


def test_backorder_retries_read_the_oldest_backorders_by_index_not_every_order(network, web_channel):
    from orders.services.routing import backordered_orders

    customer = Customer.objects.create(email="backorders@example.com")
    Order.objects.bulk_create(
        Order(number=f"OC-B{i:06d}", channel=web_channel, customer=customer, delivery_method="ship",
              status=Order.Status.BACKORDERED if i % 200 == 0 else Order.Status.DELIVERED,
              ship_line1="Damrak 1", ship_city="Amsterdam", ship_country="NL")
        for i in range(8000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")

    with CaptureQueriesContext(connection) as ctx:
        ids = list(backordered_orders(limit=10))

    # the ten oldest backorders, oldest first (orders placed in the same microsecond in either order)
    placed = dict(Order.objects.filter(status=Order.Status.BACKORDERED).values_list("pk", "placed_at"))
    assert len(ids) == 10 and set(ids) <= set(placed)
    assert [placed[pk] for pk in ids] == sorted(placed.values())[:10]
    plan = _plan(ctx.captured_queries[-1]["sql"])
    assert "order_status_placed" in plan, plan
    assert "Sort" not in plan and "Seq Scan" not in plan, plan


# The tables every order writes rows to (and updates, as it moves): each of their indexes is
# written with every row, so none may be one another index already serves.
HOT_TABLES = ["orders_order", "orders_orderline", "orders_fulfillment", "orders_allocation",
              "orders_orderevent", "inventory_reservation", "inventory_stockmovement", "kernel_outboxevent",
              "channels_sync_inboundmessage", "kernel_idempotencyrecord", "orders_customernotification"]


def test_the_tables_each_order_writes_carry_no_index_another_already_serves():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT t.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,
                   array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n),
                   pg_get_indexdef(x.indexrelid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s)""", [HOT_TABLES])
        rows = cursor.fetchall()
    assert {r[0] for r in rows} == set(HOT_TABLES)  # every table named exists (a rename fails here)
    twins = [r[1] for r in rows if "pattern_ops" in r[5]]
    assert twins == [], f"prefix-search (LIKE 'x%') indexes nothing queries: {twins}"
    # A plain index on columns that lead another index of its table is served by that one.
    covered = [(r[0], r[1], o[1]) for r in rows for o in rows
               if r[0] == o[0] and r[1] != o[1] and not r[2] and not r[3] and not o[3]
               and len(r[4]) < len(o[4]) and o[4][:len(r[4])] == r[4]]
    assert covered == [], f"indexes another index of the table already serves: {covered}"
