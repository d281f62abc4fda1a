"""Bins add up to on_hand, and the check says so in words when they do not."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from inventory.models import StockMovement
from inventory.services import pos_sale, stock_adjust, stock_receive
from tests import factories
from tests.warehouse.floor_setup import in_bin, level, special
from warehouse.checks import bin_violations
from warehouse.models import Bin, BinStock
from warehouse.services.binstock import (
    bin_take,
    bins_follow_movements,
    bins_units_arrived,
    bins_units_left,
    floor_books_bins,
)
from warehouse.services.layout import BinInput, bins_create, bins_place_unbinned

pytestmark = pytest.mark.django_db


def test_each_location_gets_one_receiving_outbound_and_quarantine_bin(floor):
    kinds = sorted(Bin.objects.filter(location=floor.wh).exclude(kind="storage").values_list("kind", "barcode"))
    assert kinds == [("outbound", "WH1-PACK"), ("quarantine", "WH1-QUAR"), ("receiving", "WH1-RECV")]
    with pytest.raises(IntegrityError), transaction.atomic():
        bins_create(floor.wh, "A", [BinInput("A-01-1", 99)])


def test_a_bin_never_goes_negative(floor):
    assert bin_take(floor.bins["A-03-2"].pk, floor.shoe.pk, 3) is False
    assert in_bin(floor.bins["A-03-2"], floor.shoe) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        BinStock.objects.filter(bin=floor.bins["A-03-2"]).update(quantity=-1)


def test_violations_name_the_sku_location_and_difference(floor):
    assert bin_violations() == []
    with transaction.atomic(), floor_books_bins():  # a ledger change the bins are not told about
        stock_adjust(stock_level=level(floor.shoe, floor.wh), delta=-1, reason="lost", actor="ops")
    [violation] = bin_violations()
    assert str(violation) == "RUN-BLK-42 @ WH1: on_hand is 1 but its bins hold 2 (+1)"
    with transaction.atomic():  # what the hook does for on_hand changes made outside the floor
        assert bins_units_left(floor.wh.pk, floor.shoe.pk, 1) == 1
    assert bin_violations() == []


def test_units_leaving_are_taken_from_outbound_first_and_arrivals_wait_in_receiving(floor):
    outbound = special(floor.wh, "outbound")
    BinStock.objects.create(bin=outbound, sku=floor.cap, quantity=1)
    BinStock.objects.filter(bin=floor.bins["A-02-1"], sku=floor.cap).update(quantity=3)
    with transaction.atomic():
        assert bins_units_left(floor.wh.pk, floor.cap.pk, 2) == 2
    assert (in_bin(outbound, floor.cap), in_bin(floor.bins["A-02-1"], floor.cap)) == (0, 2)
    with transaction.atomic():
        bins_units_arrived(floor.wh.pk, floor.cap.pk, 5)
    assert in_bin(special(floor.wh, "receiving"), floor.cap) == 5


def test_a_location_without_bins_is_not_checked_and_gets_its_stock_placed_on_setup(floor):
    store = factories.StoreFactory(code="ST5")
    with transaction.atomic():
        stock_receive(sku=floor.cap, location=store, quantity=4, actor="test")
    assert bin_violations() == []
    with transaction.atomic():
        [shelf] = bins_create(store, "SHOP", [BinInput("SHOP-1", 10)])
    assert [str(v) for v in bin_violations()] == ["CAP-RED @ ST5: on_hand is 4 but its bins hold 0 (-4)"]
    with transaction.atomic():
        assert bins_place_unbinned(store, shelf) == 4
    assert bin_violations() == []


def test_the_ledger_hook_moves_bins_for_changes_made_outside_the_floor(floor):
    """Inventory's ledger hook: a POS sale and a receipt at a location with bins move its
    bins in the same transaction (sale out of the shelf, receipt into receiving)."""
    first = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()
    with transaction.atomic():
        pos_sale(floor.store, [(floor.shoe, 2)], "till-1-0001", actor="pos")
        stock_receive(sku=floor.shirt, location=floor.store, quantity=4, actor="ops")
        stock_receive(sku=floor.shirt, location=floor.wh2, quantity=4, actor="ops")  # no bins there
    assert in_bin(floor.bins["S-01"], floor.shoe) == 1
    assert in_bin(special(floor.store, "receiving"), floor.shirt) == 4
    assert bin_violations() == []
    written = list(StockMovement.objects.filter(pk__gt=first))
    with transaction.atomic(), floor_books_bins():
        assert bins_follow_movements(written) == 0  # the floor's own calls are left alone
