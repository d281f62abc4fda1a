"""On Postgres, with real threads: counts, releases, reservations and transfers on the same
stock levels at once never deadlock (one lock order: transfer, stock levels by pk, then
reservations) and leave every invariant true."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory import services
from inventory.checks import inventory_violations
from inventory.models import StockLevel
from inventory.services import ReserveRequest, TransferLineInput
from omnichannel.errors import DomainError
from tests.conftest import requires_postgres, run_jobs_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def race_once(network, shoe: StockLevel, shirt: StockLevel) -> list[object]:
    with transaction.atomic():
        pairs = [services.stock_reserve([ReserveRequest(shoe.pk, 1, str(i)), ReserveRequest(shirt.pk, 1, str(i))],
                                        reference_type="order_line") for i in range(6)]

    def release(pair):
        return lambda: services.reservations_release([r.pk for r in pair])

    def count(level):
        def run():
            current = StockLevel.objects.get(pk=level.pk)
            return services.stock_count(current, current.on_hand)
        return run

    def transfer():
        lines = [TransferLineInput(network["shirt"], 1), TransferLineInput(network["shoe"], 1)]
        return services.transfer_ship(services.transfer_request(network["WH1"], network["ST1"], lines))

    def reserve_both():
        return services.stock_reserve([ReserveRequest(shirt.pk, 1, "x"), ReserveRequest(shoe.pk, 1, "x")],
                                      reference_type="order_line")

    jobs = ([release(pair) for pair in pairs] + [count(shoe), count(shirt), count(shoe), count(shirt)]
            + [transfer, transfer, reserve_both, reserve_both])
    return run_jobs_together(jobs)


def test_counts_releases_reservations_and_transfers_on_shared_levels_do_not_deadlock(network):
    shoe = StockLevel.objects.get(sku=network["shoe"], location=network["WH1"])
    shirt = StockLevel.objects.get(sku=network["shirt"], location=network["WH1"])
    with transaction.atomic():
        services.stock_receive(sku=network["shoe"], location=network["WH1"], quantity=100)

    results = [result for _ in range(4) for result in race_once(network, shoe, shirt)]

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    assert unexpected == []
    assert inventory_violations() == []
    for level in StockLevel.objects.all():
        assert level.reserved + level.damaged + level.quality_control <= level.on_hand
