"""Transfers between locations (services): request -> ship -> receive, partial receipts,
discrepancies, cancel, and what each step does to on_hand and incoming."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import InsufficientStock, QuantityInvalid, TransferInvalid
from inventory.models import Reservation, StockLevel, StockMovement, Transfer
from inventory.services import ReserveRequest, TransferLineInput
from omnichannel.errors import InvalidTransition
from omnichannel.models import OutboxEvent
from tests import factories

pytestmark = pytest.mark.django_db


def snapshot():
    return (StockMovement.objects.count(), Reservation.objects.count(), OutboxEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved", "incoming")),
            list(Transfer.objects.order_by("pk").values_list("status", flat=True)))


def stock(network, sku: str, location: str) -> tuple[int, int]:
    """(on_hand, incoming) of one SKU at one location; (0, 0) when there is no stock level."""
    level = StockLevel.objects.filter(sku=network[sku], location=network[location]).first()
    return (level.on_hand, level.incoming) if level else (0, 0)


def request(network, *lines: tuple[str, int], source: str = "WH1", destination: str = "ST1") -> Transfer:
    return services.transfer_request(network[source], network[destination],
                                     [TransferLineInput(network[sku], qty) for sku, qty in lines], actor="ops:ann")


def lines_of(transfer: Transfer) -> list[tuple]:
    return list(transfer.lines.order_by("pk").values_list("sku__code", "quantity_requested", "quantity_shipped",
                                                          "quantity_received", "discrepancy", "discrepancy_note"))


def test_request_moves_no_stock(network):
    before = snapshot()[:4]

    transfer = request(network, ("shoe", 5), ("shirt", 10))

    assert transfer.status == "requested" and transfer.number.startswith("TR-")
    assert (transfer.source.code, transfer.destination.code, transfer.created_by) == ("WH1", "ST1", "ops:ann")
    assert lines_of(transfer) == [("RUN-BLK-42", 5, 0, 0, 0, ""), ("TEE-WHT-M", 10, 0, 0, 0, "")]
    assert snapshot()[:4] == before


def test_ship_takes_source_on_hand_and_books_incoming_at_destination(network):
    transfer = request(network, ("shoe", 5), ("shirt", 10))

    transfer = services.transfer_ship(transfer, actor="picker:wh")

    assert transfer.status == "shipped" and transfer.shipped_at is not None
    assert stock(network, "shoe", "WH1") == (15, 0)
    assert stock(network, "shirt", "WH1") == (40, 0)
    assert stock(network, "shoe", "ST1") == (3, 5)
    assert stock(network, "shirt", "ST1") == (0, 10)  # a new stock level at the destination
    assert set(StockMovement.objects.filter(reference_type="transfer", reference_id=transfer.number)
               .values_list("stock_level__location__code", "state", "delta", "reason")) == {
        ("WH1", "on_hand", -5, "transfer_out"), ("WH1", "on_hand", -10, "transfer_out"),
        ("ST1", "incoming", 5, "transfer_in_transit"), ("ST1", "incoming", 10, "transfer_in_transit")}
    assert inventory_violations() == []


def test_ship_takes_only_available_units_and_all_lines_or_none(network):
    shoe_wh = StockLevel.objects.get(sku=network["shoe"], location=network["WH1"])
    services.stock_reserve([ReserveRequest(shoe_wh.pk, 17, "9")], reference_type="order_line")
    transfer = request(network, ("shirt", 10), ("shoe", 4))
    before = snapshot()

    with pytest.raises(InsufficientStock) as error, transaction.atomic():  # as the API view does
        services.transfer_ship(transfer)

    assert [s.as_dict() for s in error.value.shortages] == [{"sku": "RUN-BLK-42", "requested": 4, "available": 3}]
    assert snapshot() == before  # the shirt line that fitted did not ship either


def test_ship_of_a_sku_the_source_never_had_is_short(network):
    transfer = request(network, ("shoe", 1), source="ST9", destination="ST2")
    with pytest.raises(InsufficientStock) as error:
        services.transfer_ship(transfer)
    assert [s.as_dict() for s in error.value.shortages] == [{"sku": "RUN-BLK-42", "requested": 1, "available": 0}]


def test_ship_fewer_than_requested(network):
    transfer = request(network, ("shoe", 5), ("shirt", 10))

    services.transfer_ship(transfer, shipped={"RUN-BLK-42": 3})

    assert stock(network, "shoe", "WH1") == (17, 0)
    assert stock(network, "shoe", "ST1") == (3, 3)
    assert lines_of(transfer)[0][:3] == ("RUN-BLK-42", 5, 3)
    with pytest.raises(InvalidTransition):
        services.transfer_ship(transfer)


def test_ship_more_than_requested_or_a_foreign_sku_is_refused(network):
    transfer = request(network, ("shoe", 5))
    with pytest.raises(QuantityInvalid):
        services.transfer_ship(transfer, shipped={"RUN-BLK-42": 6})
    with pytest.raises(TransferInvalid):
        services.transfer_ship(transfer, shipped={"TEE-WHT-M": 1})


def test_partial_receipts_then_full_receipt_closes_without_discrepancy(network):
    transfer = services.transfer_ship(request(network, ("shoe", 5), ("shirt", 10)))

    transfer = services.transfer_receive(transfer, {"RUN-BLK-42": 2}, actor="picker:st1")
    assert transfer.status == "partially_received"
    assert stock(network, "shoe", "ST1") == (5, 3)
    transfer = services.transfer_receive(transfer, {"RUN-BLK-42": 3, "TEE-WHT-M": 10})

    assert transfer.status == "received" and transfer.received_at is not None
    assert stock(network, "shoe", "ST1") == (8, 0)
    assert stock(network, "shirt", "ST1") == (10, 0)
    assert lines_of(transfer) == [("RUN-BLK-42", 5, 5, 5, 0, ""), ("TEE-WHT-M", 10, 10, 10, 0, "")]
    assert inventory_violations() == []


def test_closing_a_short_receipt_records_the_discrepancy_and_clears_incoming(network):
    transfer = services.transfer_ship(request(network, ("shoe", 5), ("shirt", 10)))
    services.transfer_receive(transfer, {"RUN-BLK-42": 4, "TEE-WHT-M": 3})

    transfer = services.transfer_receive(transfer, {"TEE-WHT-M": 5}, close=True, actor="picker:st1")

    assert transfer.status == "received"
    assert stock(network, "shoe", "ST1") == (7, 0)
    assert stock(network, "shirt", "ST1") == (8, 0)
    assert lines_of(transfer) == [
        ("RUN-BLK-42", 5, 5, 4, -1, "short 1: received 4 of 5 shipped"),
        ("TEE-WHT-M", 10, 10, 8, -2, "short 2: received 8 of 10 shipped")]
    shortfall = list(StockMovement.objects.filter(reason="transfer_shortfall").order_by("pk")
                     .values_list("stock_level__sku__code", "state", "delta"))
    assert shortfall == [("RUN-BLK-42", "incoming", -1), ("TEE-WHT-M", "incoming", -2)]
    assert inventory_violations() == []


def test_a_transfer_can_be_received_into_quality_control(network):
    transfer = services.transfer_ship(request(network, ("shoe", 3)))

    services.transfer_receive(transfer, {"RUN-BLK-42": 3}, into="quality_control")

    level = StockLevel.objects.get(sku=network["shoe"], location=network["ST1"])
    assert (level.on_hand, level.incoming, level.quality_control, level.available) == (6, 0, 3, 3)
    assert inventory_violations() == []


def test_overage_is_received_and_recorded(network):
    transfer = services.transfer_ship(request(network, ("shoe", 2)))

    transfer = services.transfer_receive(transfer, {"RUN-BLK-42": 3})

    assert transfer.status == "received"
    assert stock(network, "shoe", "ST1") == (6, 0)
    assert lines_of(transfer) == [("RUN-BLK-42", 2, 2, 3, 1, "over 1: received 3 of 2 shipped")]
    assert inventory_violations() == []


def test_short_shipped_line_notes_it_when_closed(network):
    transfer = services.transfer_ship(request(network, ("shoe", 5)), shipped={"RUN-BLK-42": 3})

    transfer = services.transfer_receive(transfer, {"RUN-BLK-42": 3})

    assert lines_of(transfer) == [("RUN-BLK-42", 5, 3, 3, 0, "shipped 3 of 5 requested")]


def test_incoming_of_other_transfers_is_left_alone(network):
    first = services.transfer_ship(request(network, ("shoe", 4)))
    second = services.transfer_ship(request(network, ("shoe", 6)))

    services.transfer_receive(first, {}, close=True)

    assert stock(network, "shoe", "ST1") == (3, 6)
    services.transfer_receive(second, {"RUN-BLK-42": 6})
    assert stock(network, "shoe", "ST1") == (9, 0)
    assert inventory_violations() == []


def test_receive_before_ship_and_after_close_are_invalid_transitions(network):
    transfer = request(network, ("shoe", 1))
    with pytest.raises(InvalidTransition):
        services.transfer_receive(transfer, {"RUN-BLK-42": 1})
    services.transfer_ship(transfer)
    services.transfer_receive(transfer, {"RUN-BLK-42": 1})
    before = snapshot()

    with pytest.raises(InvalidTransition) as error:
        services.transfer_receive(transfer, {"RUN-BLK-42": 1})

    assert error.value.extra == {"current_status": "received", "action": "receive"}
    assert snapshot() == before


def test_receive_of_nothing_without_close_is_refused(network):
    transfer = services.transfer_ship(request(network, ("shoe", 1)))
    with pytest.raises(TransferInvalid):
        services.transfer_receive(transfer, {"RUN-BLK-42": 0})


def test_cancel_only_before_ship(network):
    transfer = request(network, ("shoe", 1))
    transfer = services.transfer_cancel(transfer, actor="ops:ann", reason="not needed")
    assert (transfer.status, transfer.note) == ("cancelled", "cancelled by ops:ann: not needed")
    with pytest.raises(InvalidTransition):
        services.transfer_ship(transfer)

    shipped = services.transfer_ship(request(network, ("shoe", 1)))
    with pytest.raises(InvalidTransition):
        services.transfer_cancel(shipped)


@pytest.mark.parametrize("bad", ["same_place", "empty", "zero", "twice"])
def test_bad_requests_write_nothing(network, bad):
    before = snapshot()
    lines = {"same_place": [TransferLineInput(network["shoe"], 1)], "empty": [],
             "zero": [TransferLineInput(network["shoe"], 0)],
             "twice": [TransferLineInput(network["shoe"], 1), TransferLineInput(network["shoe"], 2)]}[bad]
    destination = network["WH1"] if bad == "same_place" else network["ST1"]

    with pytest.raises((TransferInvalid, QuantityInvalid)):
        services.transfer_request(network["WH1"], destination, lines)

    assert snapshot() == before


def test_shipping_to_a_location_without_that_sku_creates_its_stock_level(network):
    dark = factories.LocationFactory(code="DS1", kind="dark_store")
    network["DS1"] = dark

    services.transfer_ship(request(network, ("shirt", 5), source="ST9", destination="DS1"))

    assert stock(network, "shirt", "DS1") == (0, 5)
    assert stock(network, "shirt", "ST9") == (5, 0)
    assert inventory_violations() == []
