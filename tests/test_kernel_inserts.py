"""`insert_unless_conflict`: one INSERT that reports a unique clash instead of failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from omnichannel.inserts import insert_unless_conflict
from orders.models import Customer, Order

pytestmark = pytest.mark.django_db


def test_a_new_row_is_written_with_its_pk_and_defaults():
    customer = Customer(email="eva@example.com", name="Eva")
    assert insert_unless_conflict(customer) is True
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.email, stored.name) == ("eva@example.com", "Eva")
    assert stored.created_at is not None and stored.created_at == customer.created_at  # auto_now_add


def test_a_clash_writes_nothing_and_leaves_the_transaction_usable():
    Customer.objects.create(email="eva@example.com", phone="+31612345678")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert insert_unless_conflict(Customer(email="eva@example.com")) is False
        assert insert_unless_conflict(Customer(phone="+31612345678"), ["phone"]) is False
        assert Customer.objects.count() == 1  # still usable: the clash did not abort the transaction
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert insert_unless_conflict(Customer(email="daan@example.com", phone="+31687654321")) is True
    assert Customer.objects.count() == 2


def test_a_clash_on_other_fields_than_the_named_ones_still_raises():
    Customer.objects.create(email="eva@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_unless_conflict(Customer(email="eva@example.com"), ["phone"])


def test_other_integrity_errors_raise():
    with pytest.raises(IntegrityError), transaction.atomic():  # a pickup order needs its location
        insert_unless_conflict(Order(number="OC-CHECK", channel_id=1, customer_id=1, delivery_method="pickup"))


def plain(values: list) -> list:
    """psycopg's JSON wrappers compare by identity: compare what they wrap, and their type."""
    return [(type(v).__name__, v.obj) if hasattr(v, "obj") else v for v in values]


def test_values_sent_as_they_are_are_exactly_what_django_would_prepare(network, channel_client):
    """Every field of every model of ours, on rows a journey wrote, plus values of the wrong
    type: the shortcut in `_prepared` gives what `get_db_prep_save` gives."""
    from decimal import Decimal

    from django.apps import apps

    from omnichannel.inserts import _prepared
    from tests.payloads import ship_order

    assert channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").status_code == 201
    ours = [m for m in apps.get_models() if m._meta.app_label in {"orders", "inventory", "omnichannel", "transport",
                                                                     "channels_sync", "warehouse"}]
    compared = 0
    for model in ours:
        fields = [f for f in model._meta.concrete_fields if not getattr(f, "auto_now", False)
                  and not getattr(f, "auto_now_add", False)]
        for obj in model.objects.all()[:3]:
            assert plain(_prepared([obj], fields)) == plain(
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]), model
            compared += 1
    assert compared > 20
    order = Order.objects.get()
    odd = {"status": Order.Status.PLACED, "total_amount": Decimal("12.50"), "channel_id": "1", "number": 7}
    fields = [Order._meta.get_field(name) for name in odd]
    for field, value in zip(fields, odd.values(), strict=True):
        setattr(order, field.attname, value)
    assert _prepared([order], fields) == [f.get_db_prep_save(v, connection) for f, v in zip(fields, odd.values(),
                                                                                            strict=True)]
    assert _prepared([order], fields)[2:] == [1, "7"]  # the wrong type is converted, not sent as it is

    # A datetime: an aware one is sent as Django would send it (on Postgres, as it is); a
    # naive one is made aware in the current time zone, with Django's warning, as save() does.
    promised_by = Order._meta.get_field("promised_by")
    for value in (datetime(2026, 12, 1, 9, 30, tzinfo=UTC), datetime(2026, 12, 1, 9, 30,
                                                                      tzinfo=timezone(timedelta(hours=5)))):
        order.promised_by = value
        assert _prepared([order], [promised_by]) == [promised_by.get_db_prep_save(value, connection)]
    order.promised_by = datetime(2026, 12, 1, 9, 30)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        sent = _prepared([order], [promised_by])
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        assert sent == [promised_by.get_db_prep_save(datetime(2026, 12, 1, 9, 30), connection)]
    assert sent[0] != datetime(2026, 12, 1, 9, 30)  # converted, not sent as it is


def test_rows_of_several_models_inserted_together_each_get_their_own_key(network, channel_client):
    from omnichannel.inserts import insert_all_together
    from omnichannel.models import OutboxEvent
    from orders.models import OrderEvent
    from tests.payloads import ship_order

    assert channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").status_code == 201
    order = Order.objects.get()
    entries = [OrderEvent(order=order, type=f"test.{i}", message=f"entry {i}") for i in range(3)]
    events = [OutboxEvent(type=f"test.{i}", aggregate_type="order", aggregate_id=str(order.pk), payload={"i": i})
              for i in range(2)]

    with CaptureQueriesContext(connection) as ctx:
        insert_all_together([entries, [], events])

    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert [OrderEvent.objects.get(pk=e.pk).message for e in entries] == ["entry 0", "entry 1", "entry 2"]
    assert [OutboxEvent.objects.get(pk=e.pk).payload for e in events] == [{"i": 0}, {"i": 1}]


def test_an_order_and_its_lines_in_one_insert_or_nothing_on_a_clash(network, web_channel):
    from decimal import Decimal

    from omnichannel.inserts import insert_with_children
    from orders.models import OrderLine

    customer = Customer.objects.create(email="lines@example.com")

    def order(number: str) -> Order:
        return Order(number=number, channel=web_channel, customer=customer, delivery_method="ship",
                     ship_line1="Damrak 1", ship_city="Amsterdam", ship_country="NL", total_amount=Decimal("59.90"))

    def lines() -> list[OrderLine]:
        return [OrderLine(line_number=n, sku=sku, quantity=n, unit_price=Decimal("12.45") * n)
                for n, sku in enumerate([network["shoe"], network["shirt"], network["shoe"]], start=1)]

    first, first_lines = order("OC-LINES01"), lines()
    with CaptureQueriesContext(connection) as ctx:
        assert insert_with_children(first, first_lines, "order") is True
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    stored = {line.pk: (line.order_id, line.line_number, line.sku_id, line.quantity, line.unit_price)
              for line in OrderLine.objects.all()}
    assert stored == {line.pk: (first.pk, line.line_number, line.sku_id, line.line_number, Decimal("12.45") * n)
                      for n, line in enumerate(first_lines, start=1)}
    assert all(line.order is first for line in first_lines)

    with transaction.atomic():  # the same number again: nothing written, the transaction still usable
        clash = order("OC-LINES01")
        assert insert_with_children(clash, lines(), "order") is False
        assert clash.pk is None and Order.objects.count() == 1 and OrderLine.objects.count() == 3


def test_rows_pointing_at_rows_inserted_in_the_same_statement_get_their_keys(network, channel_client):
    """Allocations inserted with the reservations they point at (any order, some pointing at a
    reservation saved before): each gets the key of its own reservation."""
    from inventory.models import Reservation, StockLevel
    from omnichannel.inserts import insert_all_together
    from orders.models import Allocation
    from tests.payloads import ship_order

    assert channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), ("RUN-BLK-42", 1)),
                               format="json").status_code == 201
    line_a, line_b = Order.objects.get().lines.order_by("pk")
    levels = list(StockLevel.objects.order_by("pk")[:4])
    saved = Reservation.objects.create(stock_level=levels[3], quantity=9, reference_type="test", reference_id="old")
    fresh = [Reservation(stock_level=lv, quantity=i + 1, reference_type="test", reference_id=f"new-{i}")
             for i, lv in enumerate(levels[:3])]
    allocations = [Allocation(order_line=line_b, location_id=levels[2].location_id, quantity=3, reservation=fresh[2]),
                   Allocation(order_line=line_a, location_id=levels[3].location_id, quantity=9, reservation=saved),
                   Allocation(order_line=line_a, location_id=levels[0].location_id, quantity=1, reservation=fresh[0]),
                   Allocation(order_line=line_b, location_id=levels[1].location_id, quantity=2, reservation=fresh[1])]

    with CaptureQueriesContext(connection) as ctx:
        insert_all_together([fresh, allocations])

    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    stored = {a.pk: (a.reservation.reference_id, a.quantity) for a in Allocation.objects.filter(
        pk__in=[a.pk for a in allocations]).select_related("reservation")}
    assert [stored[a.pk] for a in allocations] == [("new-2", 3), ("old", 9), ("new-0", 1), ("new-1", 2)]
    assert [a.reservation_id for a in allocations] == [fresh[2].pk, saved.pk, fresh[0].pk, fresh[1].pk]
    assert sorted(a.pk for a in allocations) == [a.pk for a in allocations]  # keys drawn in row order


def test_a_row_pointing_at_an_unsaved_row_no_group_inserts_is_refused(network):
    from inventory.models import Reservation, StockLevel
    from omnichannel.inserts import insert_all_together
    from orders.models import Allocation

    level = StockLevel.objects.first()
    stray = Reservation(stock_level=level, quantity=1, reference_type="test", reference_id="stray")
    other = Reservation(stock_level=level, quantity=1, reference_type="test", reference_id="other")
    with pytest.raises(ValueError), transaction.atomic():
        insert_all_together([[other], [Allocation(order_line_id=1, location_id=level.location_id, quantity=1,
                                                  reservation=stray)]])


def test_psycopg_caches_the_conversion_of_our_long_statements():
    """omnichannel.apps raises psycopg's limits for caching a statement's placeholder
    conversion; fails if a psycopg upgrade drops the knobs (the saving would silently go)."""
    pq = pytest.importorskip("psycopg._queries")
    from psycopg.adapt import Transformer

    assert pq.MAX_CACHED_STATEMENT_LENGTH >= 32_768 and pq.MAX_CACHED_STATEMENT_PARAMS >= 1_000
    sql = "SELECT " + ", ".join(["%s"] * 120) + " -- " + "x" * 3000
    query = pq.PostgresQuery(Transformer())
    query.convert(sql, list(range(120)))
    hits = pq._query2pg.cache_info().hits
    query.convert(sql, list(range(120)))
    assert pq._query2pg.cache_info().hits == hits + 1
    assert query.query.startswith(b"SELECT $1, $2")


def test_statement_texts_are_kept_for_small_inserts_only():
    """An order's few rows reuse their statement's text; a bulk INSERT's is not kept (its
    length and row count vary without end)."""
    from omnichannel import inserts

    few = [Customer(email=f"few{i}@example.com") for i in range(3)]
    many = [Customer(email=f"many{i}@example.com") for i in range(inserts._CACHED_ROWS + 1)]
    inserts.insert_all(few)
    inserts.insert_all(many)
    kept = {(key[1], key[2], key[3]) for key in inserts._SQL}
    assert ("insert", "orders.Customer", 3) in kept
    assert ("insert", "orders.Customer", len(many)) not in kept
    assert Customer.objects.count() == 3 + len(many)
