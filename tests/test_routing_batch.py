"""Routing many orders at once (what a worker does with a pump's batch) ends exactly as
routing them one by one, in far fewer statements; notifications and webhooks likewise."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_sync.models import WebhookDelivery
from inventory import services as inventory_services
from inventory.errors import InsufficientStock
from inventory.models import StockLevel
from inventory.services import stock_receive
from omnichannel import outbox
from omnichannel.inserts import insert_many_unless_conflict
from omnichannel.models import OutboxEvent
from orders import handlers, services
from orders.models import (
    Allocation,
    CustomerNotification,
    Fulfillment,
    Order,
    OrderEvent,
    RoutingDecision,
)
from orders.services import capacity
from tests import factories
from tests.conftest import requires_worker, wait_for
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db  # one transaction per test: what placement commits is never dispatched


class _Undo(Exception):
    pass


def placed(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def someone(n: int, *lines: tuple[str, int]) -> dict:
    """An order of customer number `n` (each their own email and phone)."""
    body = ship_order(*lines, email=f"c{n}@example.com")
    body["customer"]["phone"] = f"06 2000{n:04d}"
    return body


def a_mixed_day(network, channel_client, marketplace_client) -> list[Order]:
    """Orders waiting to be routed: one whose holds routing moves (shoes held at ST1, sent to
    ST2 with the shirt), one that would go to ST2 too had the first not taken its shoes (so a
    stale copy of the stock misleads it), a pickup, a backorder, and more orders than ST2's
    capacity of 2 allows it."""
    network["ST2"].daily_order_capacity = 2
    network["ST2"].save()
    orders = [placed(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1), email="a@example.com"))]
    # Held at ST1 (shoe) and ST2 (shirt); ST2 has a shoe for it until the first order's routing takes both.
    orders.append(placed(channel_client, ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 1), email="b@example.com")))
    orders.append(placed(channel_client, ship_order(("RUN-BLK-42", 1), email="s@example.com")))
    orders.append(placed(channel_client, pickup_order("ST2", ("TEE-WHT-M", 1))))
    orders.append(placed(marketplace_client, ship_order(("RUN-BLK-42", 30), email="m@example.com")))
    orders += [placed(channel_client, ship_order(("TEE-WHT-M", 1), email=f"t{i}@example.com")) for i in range(4)]
    assert {o.status for o in orders} <= {"placed", "backordered"}
    return orders


def outcome(orders: list[Order]) -> dict:
    """Everything routing writes, as a user (or the ledger) would see it."""
    ids = [o.pk for o in orders]
    return {
        "orders": sorted(Order.objects.filter(pk__in=ids).values_list("number", "status")),
        "fulfillments": sorted(Fulfillment.objects.filter(order__in=ids).values_list(
            "number", "location__code", "status")),
        "allocations": sorted(Allocation.objects.filter(order_line__order__in=ids).values_list(
            "order_line__order__number", "order_line__line_number", "location__code", "quantity", "is_active",
            "fulfillment__number")),
        "backorders": sorted(Order.objects.filter(pk__in=ids).values_list("number", "lines__backordered_quantity")),
        "timeline": sorted(OrderEvent.objects.filter(order__in=ids).values_list(
            "order__number", "type", "status_from", "status_to", "fulfillment__number", "message")),
        "outbox": sorted((e.type, e.aggregate_id, {k: v for k, v in e.payload.items() if k != "decision_id"})
                         for e in OutboxEvent.objects.filter(type__in=["order.routed", "order.backordered"])),
        "decisions": sorted((d.order.number, d.outcome, d.strategy, d.trigger, str(d.plan), str(d.cost), str(d.inputs))
                            for d in RoutingDecision.objects.filter(order__in=ids).select_related("order")),
        "stock": sorted(StockLevel.objects.values_list("location__code", "sku__code", "on_hand", "reserved")),
        "load": capacity.orders_today(StockLevel.objects.values_list("location_id", flat=True)),
    }


def routed_alone(orders: list[Order]) -> dict:
    """The outcome of routing each order on its own, in order, then undone."""
    try:
        with transaction.atomic():
            for order in orders:
                services.order_route(order.pk)
            alone = outcome(orders)
            raise _Undo
    except _Undo:
        pass
    assert not Fulfillment.objects.exists()
    return alone


def test_routing_a_batch_ends_as_routing_each_order_alone(network, channel_client, marketplace_client):
    orders = a_mixed_day(network, channel_client, marketplace_client)
    alone = routed_alone(orders)

    decisions = services.orders_route_many([o.pk for o in reversed(orders)])  # any order given: routed by id

    together = outcome(orders)
    assert together == alone
    routed = OutboxEvent.objects.filter(type__in=["order.routed", "order.backordered"])
    entries = OrderEvent.objects.filter(type__in=["order.routed", "order.backordered"])
    assert len(routed) == len(entries) == len(orders)
    for row, order_id in [(e.payload, int(e.aggregate_id)) for e in routed] + [(e.payload, e.order_id) for e in entries]:
        assert RoutingDecision.objects.get(pk=row["decision_id"]).order_id == order_id  # its own decision
    assert set(decisions) == {o.pk for o in orders}
    # The day as routed: the moved holds, ST2 full after two orders, the backorder kept visible.
    assert ("RUN-BLK-42", 2) in {(sku, qty) for _, _, loc, qty, active, f in together["allocations"]
                                 for sku in ["RUN-BLK-42"] if loc == "ST2" and active and f}
    assert capacity.orders_today([network["ST2"].pk]) == {network["ST2"].pk: 2}
    assert dict(together["orders"])[orders[4].number] in {"backordered", "allocated"}


def test_once_an_order_moves_stock_the_rest_of_the_batch_reads_stock_afresh(network, channel_client):
    cap = factories.SkuFactory(code="CAP-RED", barcode="8712345000031", name="Cap red")
    stock_receive(sku=cap, location=network["WH1"], quantity=1, actor="test")  # the network's last cap but ST2's
    stock_receive(sku=cap, location=network["ST2"], quantity=2, actor="test")
    orders = [placed(channel_client, someone(n, ("CAP-RED", 1), ("TEE-WHT-M", 1))) for n in range(2)]
    assert set(Allocation.objects.values_list("location__code", flat=True)) == {"ST2"}
    network["ST2"].is_active = False  # closes before routing: both orders' holds must move
    network["ST2"].save()
    alone = routed_alone(orders)

    services.orders_route_many([o.pk for o in orders])

    assert outcome(orders) == alone
    # The first took WH1's cap; the second, planning from the stock as it is now, knows there is none
    # left (no failed reservation, no second plan) and is backordered for it.
    first, second = (o.routing_decisions.get() for o in orders)
    assert first.plan == [{"location": "WH1", "sku": "CAP-RED", "qty": 1}, {"location": "WH1", "sku": "TEE-WHT-M",
                                                                              "qty": 1}]
    assert (second.outcome, second.inputs["attempts"]) == ("partial", 1)


def test_a_plan_that_loses_a_race_inside_a_batch_is_counted_once(network, channel_client, monkeypatch):
    network["WH1"].daily_order_capacity = 100
    network["WH1"].save()
    orders = [placed(channel_client, someone(n, ("TEE-WHT-M", 1))) for n in range(3)]
    network["ST2"].is_active = False  # the shirts held there must be reserved anew elsewhere
    network["ST2"].save()
    real, raced = inventory_services.stock_take, []

    def lose_the_first_race(per_level):
        if not raced:
            raced.append(per_level)
            raise InsufficientStock([])  # as if another order took the stock between plan and reserve
        return real(per_level)

    monkeypatch.setattr(inventory_services, "stock_take", lose_the_first_race)
    services.orders_route_many([o.pk for o in orders])

    assert raced and Fulfillment.objects.filter(location=network["WH1"]).count() == 3
    assert capacity.orders_today([network["WH1"].pk]) == {network["WH1"].pk: 3}
    assert sorted(d.inputs["attempts"] for d in RoutingDecision.objects.all()) == [1, 1, 2]


def test_a_batch_costs_a_few_statements_per_order(network, channel_client):
    orders = [placed(channel_client, ship_order(("TEE-WHT-M", 1), email=f"q{i}@example.com")) for i in range(10)]
    with CaptureQueriesContext(connection) as alone:
        services.order_route(orders[0].pk)
    with CaptureQueriesContext(connection) as together:
        services.orders_route_many([o.pk for o in orders[1:]])

    assert Order.objects.filter(status="allocated").count() == 10
    assert len(alone.captured_queries) >= 11
    # Once for the whole batch: the reads, then the fulfillments, decisions, holds moved into the
    # fulfillments, statuses, capacity, and the timeline with its events.
    assert len(together.captured_queries) <= 13, [q["sql"][:80] for q in together.captured_queries]


def test_a_batch_that_fails_is_routed_order_by_order(network, channel_client, monkeypatch):
    orders = [placed(channel_client, ship_order(("TEE-WHT-M", 1), email=f"f{i}@example.com")) for i in range(3)]
    events = list(OutboxEvent.objects.filter(type="order.placed").order_by("pk"))
    monkeypatch.setattr(outbox, "runs_here", lambda task: True)
    tried = []

    def broken(order_ids, **kwargs):
        tried.append(sorted(order_ids))
        services.order_route(order_ids[0])  # some work done, then a failure: all of it rolls back
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(services, "orders_route_many", broken)
    handlers.route_on_placed_many(events)

    assert tried == [sorted(o.pk for o in orders)]
    assert sorted(Order.objects.values_list("status", flat=True)) == ["allocated"] * 3
    assert Fulfillment.objects.count() == 3  # each once: the failed batch left nothing behind


def test_a_batch_of_confirmations_sends_each_email_once(network, channel_client, monkeypatch):
    orders = [placed(channel_client, someone(i, ("TEE-WHT-M", 1))) for i in range(4)]
    Order.objects.filter(contact_email="c3@example.com").update(contact_email="")  # nobody to write to
    events = list(OutboxEvent.objects.filter(type="order.confirmed").order_by("pk"))
    monkeypatch.setattr(outbox, "runs_here", lambda task: True)
    mail.outbox.clear()

    handlers.notify_customers(events)
    handlers.notify_customers(events)  # a second run (a retried batch) sends nothing again

    assert sorted(m.to[0] for m in mail.outbox) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert {m.subject for m in mail.outbox} == {f"We have your order {o.number}" for o in orders[:3]}
    assert set(CustomerNotification.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert CustomerNotification.objects.count() == 3


def test_an_email_that_cannot_be_sent_is_left_to_the_tasks_retries(network, channel_client, monkeypatch):
    for i in range(3):
        placed(channel_client, someone(i, ("TEE-WHT-M", 1)))
    events = list(OutboxEvent.objects.filter(type="order.confirmed").order_by("pk"))
    monkeypatch.setattr(outbox, "runs_here", lambda task: True)
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def refuse_r1(self, messages):
        if messages[0].to == ["c1@example.com"]:
            raise ConnectionRefusedError("mail server down")
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_r1)
    retried = []
    monkeypatch.setattr("orders.tasks.customer_notification_task.delay", retried.append)
    mail.outbox.clear()

    handlers.notify_customers(events)

    assert sorted(m.to[0] for m in mail.outbox) == ["c0@example.com", "c2@example.com"]
    failed = CustomerNotification.objects.get(recipient="c1@example.com")
    assert (failed.status, failed.attempts) == ("failed", 1) and "mail server down" in failed.last_error
    assert retried == [failed.event_id]


def test_a_batch_of_public_events_writes_one_webhook_delivery_each(network, web_channel, channel_client,
                                                                   marketplace_client, monkeypatch):
    web_channel.webhook_url = "https://shop.example.com/hooks"
    web_channel.save()
    for i in range(3):
        placed(channel_client, ship_order(("TEE-WHT-M", 1), email=f"w{i}@example.com"))
    placed(marketplace_client, ship_order(("TEE-WHT-M", 1), email="mp@example.com"))  # no webhook URL
    events = list(OutboxEvent.objects.filter(type="order.confirmed").order_by("pk"))
    sent = []
    monkeypatch.setattr("channels_sync.tasks.webhook_task.delay", sent.append)

    with CaptureQueriesContext(connection) as ctx:
        handlers_of = outbox.handlers_for("order.confirmed")
        webhook = next(h for h in handlers_of if h.__name__ == "webhook_on_event")
        assert webhook.many(events) == {}
    webhook.many(events)  # again: no second row

    assert sorted(sent) == sorted([e.pk for e in events[:3]] * 2)
    assert WebhookDelivery.objects.count() == 3
    assert sum("channels_sync_saleschannel" in q["sql"] for q in ctx.captured_queries) == 1


def test_dispatch_marks_only_the_events_a_batch_handler_failed(monkeypatch):
    calls = []

    def many(events):
        calls.append([e.payload["i"] for e in events])
        return {events[1].pk: "no luck"}

    handler = outbox.batched(many)(lambda event: pytest.fail("the batch form is used"))
    monkeypatch.setitem(outbox._handlers, "test.batched", [handler])
    outbox_events = [outbox.publish("test.batched", "thing", i, {"i": i}) for i in range(4)]

    outbox.dispatch_many([e.pk for e in outbox_events])

    assert calls == [[0, 1, 2, 3]]
    rows = {e.payload["i"]: e for e in OutboxEvent.objects.filter(type="test.batched")}
    assert [rows[i].dispatched_at is not None for i in range(4)] == [True, False, True, True]
    assert "no luck" in rows[1].last_error


def test_insert_many_unless_conflict_inserts_the_new_and_skips_the_taken(network, channel_client):
    order = placed(channel_client, ship_order(("TEE-WHT-M", 1)))
    event = OutboxEvent.objects.filter(type="order.confirmed").first()
    other = outbox.publish("order.confirmed", "order", order.pk, {})

    def note(ev, subject):
        return CustomerNotification(event=ev, order=order, kind=ev.type, medium="email", recipient="x@example.com",
                                    subject=subject, body="")

    (first,) = insert_many_unless_conflict([note(event, "first")], ["event", "medium"])
    rows = [note(event, "again"), note(other, "new"), note(other, "twin")]
    inserted = insert_many_unless_conflict(rows, ["event", "medium"])

    assert inserted == [rows[1]] and rows[1].pk and rows[0].pk is None and rows[2].pk is None
    assert sorted(CustomerNotification.objects.values_list("subject", flat=True)) == ["first", "new"]


@requires_worker
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_routes_and_confirms_a_pumps_batch_in_one_transaction(celery_worker, network, channel_client):
    client = outbox._pump_redis()
    flag = outbox._pump_flag(0)
    client.set(flag, "1", ex=60)  # a pump "is already draining": the commits below wake none
    try:
        orders = [placed(channel_client, someone(n, ("TEE-WHT-M", 1))) for n in range(8)]
        assert set(Order.objects.values_list("status", flat=True)) == {"placed"}
    finally:
        client.delete(flag)
    outbox._wake_pump(0)  # one pump, with all 16 events waiting: one batch

    wait_for(lambda: Order.objects.filter(status="allocated").count() == 8, what="8 orders routed")
    wait_for(lambda: CustomerNotification.objects.filter(status="sent").count() == 8, what="8 emails sent")
    with connection.cursor() as cursor:  # rows written by one transaction share its id (xmin)
        cursor.execute("SELECT COUNT(DISTINCT xmin::text) FROM orders_routingdecision")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT COUNT(DISTINCT xmin::text) FROM orders_customernotification")
        assert cursor.fetchone()[0] == 1
    sent = "".join(p.read_text() for p in celery_worker["mail_dir"].glob("*"))
    assert all(f"We have your order {o.number}" in sent for o in orders)
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exclude(type="order.routed").exists()


def test_no_mail_server_leaves_every_email_of_a_batch_to_the_retries(network, channel_client, monkeypatch):
    for i in range(3):
        placed(channel_client, someone(i, ("TEE-WHT-M", 1)))
    events = list(OutboxEvent.objects.filter(type="order.confirmed").order_by("pk"))
    monkeypatch.setattr(outbox, "runs_here", lambda task: True)
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(EmailBackend, "open", refuse)
    retried = []
    monkeypatch.setattr("orders.tasks.customer_notification_task.delay", retried.append)
    mail.outbox.clear()

    handlers.notify_customers(events)

    assert mail.outbox == []
    assert set(CustomerNotification.objects.values_list("status", "attempts")) == {("failed", 1)}
    assert sorted(retried) == sorted(e.pk for e in events)
    monkeypatch.undo()  # the server is back: the retries send each email once
    from orders.notifications import notification_deliver

    for event in events:
        assert notification_deliver(event) is True
    assert len(mail.outbox) == 3
