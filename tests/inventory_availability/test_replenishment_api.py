"""GET /api/v1/replenishment/ and POST /api/v1/replenishment/transfers/, with velocity taken
from ledger rows written by the inventory services."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import ReserveRequest, reservations_commit, stock_adjust, stock_receive, stock_reserve
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/replenishment/"


def sell(level: StockLevel, quantity: int, reason: str) -> None:
    """An order's units leave: reserve, then commit with the reason (ship / pickup)."""
    [reservation] = stock_reserve([ReserveRequest(level.pk, quantity, f"line-{level.pk}")], reference_type="order_line")
    reservations_commit([reservation.pk], reason=reason)


def managed(level: StockLevel, point: int, target: int) -> StockLevel:
    """Min/max are configuration, not quantities (no movement): set directly."""
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=point, reorder_target=target)
    return level


@pytest.fixture
def stores(db):
    """SKU A: S1 sold down below its minimum, S2 overstocked and slow, S3 at its minimum, a
    warehouse selling 1 a day. SKU B: S1 short, S3 holding unsold stock, the warehouse full."""
    wh = factories.LocationFactory(code="R-WH", name="DC")
    s1, s2, s3 = (factories.StoreFactory(code=f"R-S{n}", name=f"Store {n}") for n in (1, 2, 3))
    a = factories.SkuFactory(code="RPL-A", barcode="1000000000001")
    b = factories.SkuFactory(code="RPL-B", barcode="1000000000002")
    levels = {}
    for key, sku, location, quantity in [("a_s1", a, s1, 10), ("a_s2", a, s2, 30), ("a_s3", a, s3, 5),
                                         ("a_wh", a, wh, 100), ("b_wh", b, wh, 50), ("b_s1", b, s1, 1),
                                         ("b_s3", b, s3, 40)]:
        levels[key] = stock_receive(sku=sku, location=location, quantity=quantity)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - dt.timedelta(days=40)):
        sell(levels["a_s2"], 1, "pickup")  # outside a 28-day window
    sell(levels["a_s1"], 6, "ship")
    sell(levels["a_s1"], 2, "pickup")
    inventory_services.pos_sale(s2, [(a, 1)], "till-1")
    stock_adjust(stock_level=levels["a_s2"], delta=-2, reason="lost")  # not a sale
    sell(levels["a_wh"], 28, "ship")
    managed(levels["a_s1"], 4, 30)
    managed(levels["a_s2"], 2, 6)
    managed(levels["a_s3"], 5, 8)
    managed(levels["a_wh"], 20, 0)
    managed(levels["b_wh"], 5, 60)
    managed(levels["b_s1"], 2, 6)
    return {"WH": wh, "S1": s1, "S2": s2, "S3": s3, "A": a, "B": b, **levels}


def need(sku, location, available, point, target, suggested, sold=0, cover=None, incoming=0):
    return {"sku": sku, "location": location, "available": available, "incoming": incoming, "reorder_point": point,
            "reorder_target": target, "units_sold": sold, "velocity_per_day": round(sold / 28, 3),
            "days_of_cover": cover, "suggested_quantity": suggested}


A_S1 = need("RPL-A", "R-S1", 2, 4, 30, 28, sold=8, cover=7.0)  # 2 * 28 / 8
A_S3 = need("RPL-A", "R-S3", 5, 5, 8, 3)
B_S1 = need("RPL-B", "R-S1", 1, 2, 6, 5)


def test_the_report_lists_needs_excess_and_transfers_that_pair_them(stores, ops_client):
    response = ops_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert (body["window_days"], body["excess_days"]) == (28, 90)
    assert body["needs"] == [A_S1, A_S3, B_S1]
    assert body["excess"] == [
        # 30 - 1 (40 days ago) - 1 (till) - 2 (lost) = 26; sold 1 in 28 days: 728 days of cover;
        # keeps max(point 2, target 6, ceil(90 / 28) = 4) = 6
        {"sku": "RPL-A", "location": "R-S2", "available": 26, "incoming": 0, "reorder_point": 2,
         "reorder_target": 6, "units_sold": 1, "velocity_per_day": 0.036, "days_of_cover": 728.0, "excess_units": 20},
        {"sku": "RPL-B", "location": "R-S3", "available": 40, "incoming": 0, "reorder_point": 0,
         "reorder_target": 0, "units_sold": 0, "velocity_per_day": 0.0, "days_of_cover": None, "excess_units": 40},
    ]  # the warehouse's A: 72 left at 1 a day is 72 days, not excess; its B is below target
    assert body["suggestions"] == [
        {"sku": "RPL-A", "source": "R-S2", "destination": "R-S1", "quantity": 20, "source_reason": "excess"},
        {"sku": "RPL-A", "source": "R-WH", "destination": "R-S1", "quantity": 8, "source_reason": "warehouse"},
        {"sku": "RPL-A", "source": "R-WH", "destination": "R-S3", "quantity": 3, "source_reason": "warehouse"},
        {"sku": "RPL-B", "source": "R-S3", "destination": "R-S1", "quantity": 5, "source_reason": "excess"},
    ]


def test_a_longer_window_takes_older_sales_into_the_velocity(stores, ops_client):
    body = ops_client.get(URL, {"window_days": 60, "excess_days": 90}).json()
    a_s2 = next(row for row in body["excess"] if row["location"] == "R-S2")
    assert (a_s2["units_sold"], a_s2["days_of_cover"]) == (2, 780.0)  # 26 * 60 / 2
    assert next(row for row in body["needs"] if row["location"] == "R-S1")["units_sold"] == 8


def test_a_lower_threshold_makes_the_warehouse_an_excess_source(stores, ops_client):
    body = ops_client.get(URL, {"excess_days": 60}).json()
    wh = next(row for row in body["excess"] if row["location"] == "R-WH")
    assert (wh["days_of_cover"], wh["excess_units"]) == (72.0, 12)  # keep max(20, 0, 60) = 60
    assert body["suggestions"][:2] == [
        {"sku": "RPL-A", "source": "R-S2", "destination": "R-S1", "quantity": 20, "source_reason": "excess"},
        {"sku": "RPL-A", "source": "R-WH", "destination": "R-S1", "quantity": 8, "source_reason": "excess"},
    ]


def test_incoming_units_count_towards_the_reorder_point(stores, ops_client):
    with transaction.atomic():
        transfer = inventory_services.transfer_request(
            stores["WH"], stores["S3"], [inventory_services.TransferLineInput(stores["A"], 2)], actor="test")
        inventory_services.transfer_ship(transfer, actor="test")
    needs = ops_client.get(URL).json()["needs"]
    assert [(n["sku"], n["location"]) for n in needs] == [("RPL-A", "R-S1"), ("RPL-B", "R-S1")]  # S3: 5 + 2 > 5


def test_ops_may_narrow_to_a_location_and_skus(stores, ops_client):
    body = ops_client.get(URL, {"location": "R-S1", "sku": ["1000000000002"]}).json()
    assert body["needs"] == [B_S1] and body["excess"] == []
    assert body["suggestions"] == [
        {"sku": "RPL-B", "source": "R-S3", "destination": "R-S1", "quantity": 5, "source_reason": "excess"}]


def test_floor_staff_see_their_own_location_and_sources_anywhere(stores, picker_client_for):
    picker = picker_client_for(stores["S1"])
    body = picker.get(URL).json()
    assert body["needs"] == [A_S1, B_S1] and body["excess"] == []
    assert [(s["sku"], s["source"], s["destination"], s["quantity"]) for s in body["suggestions"]] == [
        ("RPL-A", "R-S2", "R-S1", 20), ("RPL-A", "R-WH", "R-S1", 8), ("RPL-B", "R-S3", "R-S1", 5)]
    assert picker.get(URL, {"location": "R-S2"}).status_code == 403


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"window_days": 0}, 400, "window_days"),
    ({"excess_days": "x"}, 400, "excess_days"),
    ({"location": "NOPE"}, 400, "location"),
    ({"sku": "NOPE"}, 400, "sku[0]"),
    ({"limit": 0}, 400, "limit"),
])
def test_bad_report_parameters_are_a_400(stores, ops_client, params, status, field):
    response = ops_client.get(URL, params)
    assert (response.status_code, response.json()["field"]) == (status, field)


def test_the_report_is_for_staff_only(stores, channel_client):
    assert channel_client.get(URL).status_code == 403


def test_a_suggestion_becomes_a_requested_transfer_and_moves_no_stock(stores, ops_client):
    movements = StockMovement.objects.count()
    suggestion = {"sku": "RPL-A", "source": "R-S2", "destination": "R-S1", "quantity": 20}
    response = ops_client.post(f"{URL}transfers/", suggestion, format="json")
    assert response.status_code == 201
    body = response.json()
    transfer = Transfer.objects.get()
    assert body == {"id": transfer.pk, "number": transfer.number, "status": "requested", "source": "R-S2",
                    "destination": "R-S1", "lines": [{"sku": "RPL-A", "quantity": 20}]}
    assert (transfer.source, transfer.destination, transfer.created_by) == (stores["S2"], stores["S1"], "ops:ops")
    assert StockMovement.objects.count() == movements


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"destination": "R-S2"}, "destination", "invalid"),
    ({"source": "NOPE"}, "source", "unknown_location"),
    ({"sku": "NOPE"}, "sku", "unknown_sku"),
    ({"quantity": 0}, "quantity", "invalid"),
])
def test_a_bad_suggestion_is_a_400_and_creates_nothing(stores, ops_client, change, field, code):
    suggestion = {"sku": "RPL-A", "source": "R-S2", "destination": "R-S1", "quantity": 20, **change}
    response = ops_client.post(f"{URL}transfers/", suggestion, format="json")
    assert (response.status_code, response.json()["field"], response.json()["code"]) == (400, field, code)
    assert not Transfer.objects.exists()


def test_floor_staff_request_transfers_into_their_own_location_only(stores, picker_client_for):
    picker = picker_client_for(stores["S1"])
    into_other = {"sku": "RPL-A", "source": "R-WH", "destination": "R-S3", "quantity": 3}
    assert picker.post(f"{URL}transfers/", into_other, format="json").status_code == 403
    into_own = {"sku": "RPL-B", "source": "R-S3", "destination": "R-S1", "quantity": 5}
    assert picker.post(f"{URL}transfers/", into_own, format="json").status_code == 201
    assert Transfer.objects.get().destination == stores["S1"]
