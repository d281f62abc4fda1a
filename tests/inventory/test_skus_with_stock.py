"""`skus_with_stock`: an order's SKUs and their stock where it could ship from, in one read,
exactly what `skus_by_code` and `stock_rows` give apart."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import selectors
from inventory.models import Location, Sku, StockLevel
from inventory.services import stock_receive
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_same_skus_and_stock_rows_as_two_reads_in_one_statement(network):
    shoe, shirt = network["shoe"], network["shirt"]
    retired = factories.SkuFactory(code="OLD-1", is_active=False)
    stock_receive(sku=retired, location=network["WH1"], quantity=4, actor="test")
    level = StockLevel.objects.get(sku=shoe, location=network["ST2"])
    level.reserved = level.on_hand  # nothing left to sell at De Pijp: not a row
    level.save()
    codes = [shoe.code, shirt.barcode, "NOPE", "OLD-1", ""]
    near = [network["WH1"].pk, network["ST1"].pk, network["ST2"].pk]

    with CaptureQueriesContext(connection) as ctx:
        skus, stock = selectors.skus_with_stock(codes, near)

    assert len(ctx.captured_queries) == 1
    assert skus == selectors.skus_by_code(codes) and set(skus) == {shoe.code, shirt.barcode}
    assert sorted(stock, key=lambda r: r.stock_level_id) == sorted(
        selectors.stock_rows({shoe.pk, shirt.pk}, near), key=lambda r: r.stock_level_id)
    assert {(r.sku_id, r.location_id) for r in stock} == {
        (shoe.pk, network["WH1"].pk), (shoe.pk, network["ST1"].pk), (shirt.pk, network["WH1"].pk),
        (shirt.pk, network["ST2"].pk)}
    assert {r.available for r in stock if r.location_id == network["WH1"].pk} == {20, 50}


def test_without_locations_it_reads_only_the_skus(network):
    skus, stock = selectors.skus_with_stock([network["shoe"].code], None)
    assert list(skus) == [network["shoe"].code] and stock == []
    assert selectors.skus_with_stock([], [1]) == ({}, [])


def test_a_sku_with_no_stock_anywhere_is_still_found(network):
    new = factories.SkuFactory(code="NEW-1")
    skus, stock = selectors.skus_with_stock(["NEW-1"], list(Location.objects.values_list("pk", flat=True)))
    assert skus == {"NEW-1": Sku.objects.get(pk=new.pk)} and stock == []
