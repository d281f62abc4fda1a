"""`stock_take`: the units of several stock levels taken all or none, written up after.

Order placement and routing take the stock first (one statement on Postgres for every level,
rows locked in pk order) and write the reservations, ledger rows and allocations in one
statement with the rest; a level that cannot cover its units leaves no level changed."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import InsufficientStock, QuantityInvalid
from inventory.models import Reservation, StockLevel
from inventory.services import ReserveRequest
from omnichannel.inserts import insert_all_together
from tests.conftest import requires_postgres


def level(network, sku: str, location: str) -> StockLevel:
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def reserved() -> dict[int, int]:
    return dict(StockLevel.objects.values_list("pk", "reserved"))


@pytest.mark.django_db
def test_every_level_is_taken_and_the_rows_written_after_balance_the_ledger(network):
    shoe, shirt, far = level(network, "shoe", "WH1"), level(network, "shirt", "WH1"), level(network, "shirt", "ST9")
    with transaction.atomic():
        services.stock_take({shirt.pk: 4, shoe.pk: 2, far.pk: 10})
        requests = [ReserveRequest(shoe.pk, 2, "1"), ReserveRequest(shirt.pk, 4, "2"), ReserveRequest(far.pk, 10, "2")]
        insert_all_together(services.reservation_rows(requests, reference_type="order_line", actor="test"))

    assert {k: v for k, v in reserved().items() if v} == {shoe.pk: 2, shirt.pk: 4, far.pk: 10}
    assert sorted(Reservation.objects.values_list("stock_level_id", "quantity", "status")) == sorted(
        [(shoe.pk, 2, "open"), (shirt.pk, 4, "open"), (far.pk, 10, "open")])
    assert inventory_violations() == []


@pytest.mark.django_db
def test_one_level_short_leaves_every_level_as_it_was(network):
    shoe, shirt, south = level(network, "shoe", "WH1"), level(network, "shirt", "WH1"), level(network, "shoe", "ST2")
    before = reserved()

    with pytest.raises(InsufficientStock) as raised, transaction.atomic():
        services.stock_take({shoe.pk: 1, south.pk: 3, shirt.pk: 50})  # De Pijp has 2 shoes

    assert [(s.sku, s.requested, s.available) for s in raised.value.shortages] == [("RUN-BLK-42", 3, 2)]
    assert reserved() == before


@pytest.mark.django_db
def test_no_savepoint_is_needed_after_a_refusal(network):
    shoe, south = level(network, "shoe", "WH1"), level(network, "shoe", "ST2")
    with transaction.atomic():
        with pytest.raises(InsufficientStock), CaptureQueriesContext(connection) as queries:
            services.stock_take({shoe.pk: 5, south.pk: 9})
        services.stock_take({shoe.pk: 5})  # the same transaction goes on
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert reserved()[shoe.pk] == 5 and reserved()[south.pk] == 0


@pytest.mark.django_db
def test_expired_checkout_holds_make_way(network):
    south, shoe = level(network, "shoe", "ST2"), level(network, "shoe", "WH1")
    long_ago = timezone.now() - timedelta(hours=3)
    with transaction.atomic():
        services.hold_create(stock_level=south, quantity=2, minutes=5, reference_id="cart-1", now=long_ago)
    with transaction.atomic():
        services.stock_take({shoe.pk: 1, south.pk: 2})
    assert Reservation.objects.get(reference_id="cart-1").status == Reservation.Status.RELEASED
    assert reserved()[south.pk] == 2 and reserved()[shoe.pk] == 1


@pytest.mark.django_db
def test_quantities_must_be_positive(network):
    shoe = level(network, "shoe", "WH1")
    with pytest.raises(QuantityInvalid), transaction.atomic():
        services.stock_take({shoe.pk: 0})
    assert reserved()[shoe.pk] == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_many_clients_taking_overlapping_levels_in_any_order_never_deadlock_or_oversell(network):
    # 24 clients each take 1 unit of 2-4 of the network's 6 stock levels, named in any order
    # (2 to 50 units each): locks in pk order, so no deadlock; all or nothing, so no level oversold
    levels = list(StockLevel.objects.order_by("pk"))
    rng = random.Random(11)
    wanted = [{lv.pk: 1 for lv in rng.sample(levels, rng.randint(2, 4))} for _ in range(24)]
    barrier, results = threading.Barrier(len(wanted)), [None] * len(wanted)

    def client(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                services.stock_take(dict(reversed(list(wanted[i].items()))))
                requests = [ReserveRequest(pk, n, f"client-{i}") for pk, n in wanted[i].items()]
                insert_all_together(services.reservation_rows(requests, reference_type="order_line"))
            results[i] = "taken"
        except InsufficientStock:
            results[i] = "short"
        except Exception as exc:  # noqa: BLE001 - a deadlock would land here
            results[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(wanted))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert set(results) <= {"taken", "short"}, results
    taken = [w for w, r in zip(wanted, results, strict=True) if r == "taken"]
    expected = {lv.pk: sum(w.get(lv.pk, 0) for w in taken) for lv in levels}
    assert reserved() == expected
    assert all(lv.on_hand >= lv.reserved for lv in StockLevel.objects.all())
    assert inventory_violations() == []
    assert "short" in results  # De Pijp's 2 shoes and 5 shirts cannot serve everyone
