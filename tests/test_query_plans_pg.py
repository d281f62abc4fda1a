"""Per-order queries stay index lookups when history piles up (Postgres plans, after ANALYZE
as autovacuum would run it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from orders.models import Customer, Fulfillment, Order
from orders.services.planner import orders_today
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_daily_capacity_count_reads_today_only_not_the_locations_history(network, web_channel):
    locations = [network["WH1"], network["ST1"], network["ST2"]]
    customer = Customer.objects.create(email="history@example.com")
    orders = Order.objects.bulk_create(
        Order(number=f"OC-H{i:06d}", channel=web_channel, customer=customer, delivery_method="ship",
              ship_line1="Damrak 1", ship_city="Amsterdam", ship_country="NL")
        for i in range(6000))
    Fulfillment.objects.bulk_create(
        Fulfillment(order=order, number=f"{order.number}-1", location=locations[i % 3])
        for i, order in enumerate(orders))
    # A year of history: all but the last 30 made before today.
    Fulfillment.objects.exclude(number__in=[f"{o.number}-1" for o in orders[-30:]]).update(
        created_at=F("created_at") - timedelta(days=2) - F("id") % 365 * timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_fulfillment")

    with CaptureQueriesContext(connection) as ctx:
        counts = orders_today([loc.pk for loc in locations])

    assert counts == {locations[0].pk: 10, locations[1].pk: 10, locations[2].pk: 10}
    plan = _plan(ctx.captured_queries[-1]["sql"])
    assert "fulfillment_location_day" in plan, plan
    assert "Seq Scan on orders_fulfillment" not in plan, plan


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
