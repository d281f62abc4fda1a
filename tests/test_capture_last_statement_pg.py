"""Capture on Postgres: the order's stock is taken in the transaction's last statement, with
its reservations, ledger rows, timeline, outbox events, stored answer and message mark, so
the stock rows stay locked only from that statement to the commit. The answer is rendered
before that statement runs: it must say what is then stored."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_sync.models import InboundMessage
from inventory.models import Reservation, StockLevel, StockMovement
from omnichannel.models import IdempotencyRecord, OutboxEvent
from orders.models import Order, OrderEvent
from tests.conftest import requires_postgres
from tests.payloads import ship_order

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db]


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def _ends(sql: str) -> bool:
    """The capture's transaction ends (a savepoint inside the test's own transaction)."""
    return sql == "COMMIT" or sql.startswith("RELEASE SAVEPOINT")


def test_the_stock_is_taken_in_the_last_statement_with_everything_else(network, channel_client):
    before = dict(StockLevel.objects.values_list("pk", "reserved"))
    with CaptureQueriesContext(connection) as ctx:
        response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)),
                                       format="json", HTTP_IDEMPOTENCY_KEY="last-statement")
    assert response.status_code == 201, response.content

    statements = _statements(ctx)
    assert _ends(statements[-1]), statements[-1]
    last = statements[-2]
    for table in ("inventory_stocklevel", "inventory_reservation", "inventory_stockmovement", "orders_allocation",
                  "orders_orderevent", "kernel_outboxevent", "kernel_idempotencyrecord",
                  "channels_sync_inboundmessage"):
        assert table in last, table
    assert not any("inventory_stocklevel" in sql and "FOR NO KEY UPDATE" in sql for sql in statements[:-2])

    after = dict(StockLevel.objects.values_list("pk", "reserved"))
    assert sum(after.values()) - sum(before.values()) == 3
    assert Reservation.objects.filter(status="open").count() == 2
    assert StockMovement.objects.filter(reason="reserve").count() == 2
    assert OutboxEvent.objects.count() >= 2
    assert IdempotencyRecord.objects.count() == 1
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED


def test_the_answer_rendered_before_the_last_statement_is_what_was_stored(network, channel_client):
    body = ship_order(("RUN-BLK-42", 1), external_id="WEB-77")
    created = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="rendered-first")
    assert created.status_code == 201, created.content
    number = created.json()["number"]

    shown = channel_client.get(f"/api/v1/orders/{number}/").json()
    placed = [e for e in shown["timeline"] if e["type"] in ("order.placed", "order.confirmed")]
    assert [e["at"] for e in created.json()["timeline"]] == [e["at"] for e in placed]
    assert created.json()["status"] == shown["status"] == Order.objects.get(number=number).status
    stored = OrderEvent.objects.filter(order__number=number).order_by("pk")
    assert [e["type"] for e in created.json()["timeline"]] == [e.type for e in stored][:2]

    replay = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="rendered-first")
    assert replay.status_code == 201
    assert replay.json() == created.json()


def test_a_backordered_order_with_nothing_to_take_still_writes_in_one_last_statement(network, marketplace_client):
    from django.db.models import F

    StockLevel.objects.filter(sku__code="TEE-WHT-M").update(reserved=F("on_hand"))  # none available anywhere
    before = dict(StockLevel.objects.values_list("pk", "reserved"))
    with CaptureQueriesContext(connection) as ctx:
        response = marketplace_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 5000)), format="json",
                                           HTTP_IDEMPOTENCY_KEY="nothing-to-take")
    assert response.status_code == 201, response.content
    statements = _statements(ctx)
    assert _ends(statements[-1]), statements[-1]
    assert "orders_orderevent" in statements[-2] and "kernel_idempotencyrecord" in statements[-2]
    order = Order.objects.get()
    assert order.lines.get().backordered_quantity == 5000
    assert dict(StockLevel.objects.values_list("pk", "reserved")) == before
    assert not Reservation.objects.exists()
    assert IdempotencyRecord.objects.get().response_body["number"] == order.number
