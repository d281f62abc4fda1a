"""omnichannel.rawsql builds the same model instances as the ORM, value for value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from channels_sync.models import SalesChannel
from omnichannel import outbox, rawsql
from omnichannel.models import OutboxEvent
from orders.models import Order
from tests import factories
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db


def values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_rows_become_the_instances_the_orm_builds(network, channel_client):
    sku = factories.SkuFactory(code="JSON-1", attributes={"size": "42", "colour": "black"}, price=Decimal("79.95"))
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2)), format="json")
    order = Order.objects.get(number=response.json()["number"])
    Order.objects.filter(pk=order.pk).update(promised_by=timezone.now())
    event = outbox.publish("test.rawsql", "t", 1, {"nested": {"list": [1, 2.5, "x"]}, "none": None})
    for model, pk in [(type(sku), sku.pk), (Order, order.pk), (OutboxEvent, event.pk),
                      (SalesChannel, order.channel_id), (type(network["WH1"]), network["WH1"].pk)]:
        (built,) = rawsql.instances(model, f"WHERE t.{rawsql.column(model, 'id')} = %s", [pk])
        orm = model.objects.get(pk=pk)
        assert values(built) == values(orm), model
        assert {type(v) for v in values(built).values()} == {type(v) for v in values(orm).values()}, model
        assert built._state.adding is False and built._state.db == connection.alias


def test_a_row_from_a_join_splits_into_its_models(network, channel_client):
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")
    order = Order.objects.select_related("customer").get(number=response.json()["number"])
    sql = (f"SELECT {rawsql.columns(Order, 'o')}, {rawsql.columns(type(order.customer), 'c')} "  # noqa: S608
           f"FROM {rawsql.table(Order)} o JOIN {rawsql.table(type(order.customer))} c ON c.id = o.customer_id "
           f"WHERE o.id = %s")
    (row,) = rawsql.fetch(sql, [order.pk])
    built, customer = rawsql.split(row, Order, type(order.customer))
    assert values(built) == values(order) and values(customer) == values(order.customer)
    # an outer join that found nothing: None for that model
    missing = (f"SELECT {rawsql.columns(Order, 'o')}, {rawsql.columns(SalesChannel, 'c')} "  # noqa: S608
               f"FROM {rawsql.table(Order)} o LEFT JOIN {rawsql.table(SalesChannel)} c ON c.id = -1 WHERE o.id = %s")
    built, channel = rawsql.split(rawsql.fetch(missing, [order.pk])[0], Order, SalesChannel)
    assert values(built) == values(order) and channel is None


def test_update_sets_prepared_values_and_counters_and_leaves_auto_now_alone(network, channel_client):
    from orders.models import CustomerNotification

    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")
    order = Order.objects.get(number=response.json()["number"])
    before = order.updated_at
    assert rawsql.update(Order, [order.pk], {"status": "allocated", "at_risk_reason": "late"}) == 1
    order.refresh_from_db()
    assert (order.status, order.at_risk_reason, order.updated_at) == ("allocated", "late", before)

    confirmed = outbox.publish("order.confirmed", "order", order.pk, {"order_id": order.pk})
    note = CustomerNotification.objects.create(event=confirmed, order=order, kind="order.confirmed",
                                               recipient="eva@example.com", subject="s", body="b", attempts=1)
    sent_at = timezone.now()
    assert rawsql.update(CustomerNotification, [note.pk, 10**9], {"status": "failed", "sent_at": sent_at,
                                                                  "order": order}, add={"attempts": 2}) == 1
    note.refresh_from_db()
    assert (note.status, note.sent_at, note.attempts) == ("failed", sent_at, 3)
    event = outbox.publish("test.rawsql", "t", 1, {})
    assert rawsql.update(OutboxEvent, [event.pk], {"payload": {"a": [1, None]}}) == 1
    assert OutboxEvent.objects.get(pk=event.pk).payload == {"a": [1, None]}
    assert rawsql.update(Order, [], {"status": "placed"}) == 0
