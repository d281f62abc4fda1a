"""The staff stock-operations API, transfers, checkout holds and POS sales over HTTP:
scoping (floor staff only at their own location, channels only their own holds), error
shapes, and that a refused request moves nothing."""

from __future__ import annotations

import pytest

from channels_sync.tokens import token_issue
from inventory.models import PosReceipt, Reservation, StockLevel, StockMovement, Transfer
from inventory.services import ReserveRequest, stock_reserve
from omnichannel.models import OutboxEvent
from tests import factories
from tests.conftest import client_with_token

pytestmark = pytest.mark.django_db


def snapshot():
    return (StockMovement.objects.count(), Reservation.objects.count(), OutboxEvent.objects.count(),
            Transfer.objects.count(), PosReceipt.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved", "damaged", "safety_stock",
                                                               "incoming")))


def level_of(network, sku: str = "shoe", location: str = "WH1") -> StockLevel:
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def post(client, url: str, body: dict):
    return client.post(f"/api/v1/{url}", body, format="json")


# --- stock operations ---------------------------------------------------------------------------------


def test_ops_receive_by_barcode(network, ops_client):
    response = post(ops_client, "stock/receive/", {"sku": "8712345000017", "location": "WH1", "quantity": 5,
                                                   "reference": "PO-77"})

    assert response.status_code == 200, response.content
    assert response.json() | {"updated_at": None} == {
        "sku": "RUN-BLK-42", "location": "WH1", "on_hand": 25, "reserved": 0, "safety_stock": 0, "incoming": 0,
        "damaged": 0, "quality_control": 0, "available": 25, "reorder_point": 0, "reorder_target": 0,
        "updated_at": None}
    movement = StockMovement.objects.latest("pk")
    assert (movement.reason, movement.reference_type, movement.reference_id, movement.actor) == (
        "receive", "receipt", "PO-77", "ops:ops")


def test_a_picker_operates_at_their_own_location_only(network, picker_client_for):
    picker = picker_client_for(network["ST1"])

    own = post(picker, "stock/adjust/", {"sku": "RUN-BLK-42", "location": "ST1", "delta": -1, "reason": "theft"})
    before = snapshot()
    other = [post(picker, f"stock/{op}/", body) for op, body in [
        ("receive", {"sku": "RUN-BLK-42", "location": "WH1", "quantity": 1}),
        ("adjust", {"sku": "RUN-BLK-42", "location": "WH1", "delta": -1, "reason": "theft"}),
        ("move", {"sku": "RUN-BLK-42", "location": "ST2", "from_state": "available", "to_state": "damaged",
                  "quantity": 1}),
        ("count", {"sku": "RUN-BLK-42", "location": "WH1", "counted": 0}),
        ("set", {"sku": "RUN-BLK-42", "location": "WH1", "state": "on_hand", "expected": 20, "value": 0}),
    ]]

    assert own.status_code == 200 and own.json()["on_hand"] == 2
    assert [r.status_code for r in other] == [404] * 5
    assert {r.json()["code"] for r in other} == {"unknown_location"}
    assert snapshot() == before


def test_a_channel_token_cannot_run_stock_operations(network, channel_client):
    before = snapshot()
    response = post(channel_client, "stock/receive/", {"sku": "RUN-BLK-42", "location": "WH1", "quantity": 1})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"sku": "NOPE", "location": "WH1", "delta": 1, "reason": "found"}, 400, "unknown_sku", "sku"),
    ({"sku": "RUN-BLK-42", "location": "NOPE", "delta": 1, "reason": "found"}, 404, "unknown_location", "location"),
    ({"sku": "RUN-BLK-42", "location": "WH1", "delta": 1, "reason": "because"}, 400, "invalid", "reason"),
    ({"sku": "RUN-BLK-42", "location": "WH1", "delta": 0, "reason": "found"}, 400, "invalid_quantity", "delta"),
    ({"sku": "RUN-BLK-42", "location": "WH1", "delta": -21, "reason": "lost"}, 422, "stock_would_go_negative", "delta"),
    ({"sku": "RUN-BLK-42", "location": "WH1", "delta": 2, "reason": "other"}, 400, "invalid_reason", "note"),
])
def test_adjust_errors_have_a_code_a_field_and_move_nothing(network, ops_client, body, status, code, field):
    before = snapshot()

    response = post(ops_client, "stock/adjust/", body)

    assert (response.status_code, response.json()["code"], response.json()["field"]) == (status, code, field)
    assert snapshot() == before


def test_move_to_damaged_and_back(network, ops_client):
    to_damaged = post(ops_client, "stock/move/", {"sku": "RUN-BLK-42", "location": "WH1", "from_state": "available",
                                                  "to_state": "damaged", "quantity": 3})
    back = post(ops_client, "stock/move/", {"sku": "RUN-BLK-42", "location": "WH1", "from_state": "damaged",
                                            "to_state": "available", "quantity": 1, "reason": "repaired"})

    assert (to_damaged.json()["damaged"], to_damaged.json()["available"]) == (3, 17)
    assert (back.json()["damaged"], back.json()["available"]) == (2, 18)
    assert list(StockMovement.objects.filter(state="damaged").values_list("delta", "reason")) == [
        (3, "to_damaged"), (-1, "repaired")]


def test_move_of_more_than_available_is_422_with_current(network, ops_client):
    before = snapshot()
    response = post(ops_client, "stock/move/", {"sku": "RUN-BLK-42", "location": "ST2", "from_state": "available",
                                                "to_state": "quality_control", "quantity": 3})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["current"]) == ("stock_would_go_negative", 2)
    assert snapshot() == before


def test_compare_and_set_succeeds_then_conflicts_with_the_current_value(network, ops_client):
    body = {"sku": "RUN-BLK-42", "location": "WH1", "state": "on_hand", "expected": 20, "value": 18}

    first = post(ops_client, "stock/set/", body)
    before = snapshot()
    second = post(ops_client, "stock/set/", body)

    assert first.status_code == 200 and first.json()["on_hand"] == 18
    assert second.status_code == 409
    assert second.json() == {"code": "quantity_changed", "field": "expected", "state": "on_hand", "expected": 20,
                             "current": 18,
                             "detail": "on_hand is 18, not the expected 20; read it again and retry."}
    assert snapshot() == before


def test_safety_stock_is_set_through_compare_and_set(network, ops_client):
    response = post(ops_client, "stock/set/", {"sku": "RUN-BLK-42", "location": "WH1", "state": "safety_stock",
                                               "expected": 0, "value": 5})
    assert (response.json()["safety_stock"], response.json()["available"]) == (5, 15)
    assert StockMovement.objects.latest("pk").state == "safety_stock"


def test_count_releases_reservations_that_no_longer_fit_and_publishes_the_event(network, picker_client_for):
    level = level_of(network, location="ST1")  # 3 on hand
    first, second = stock_reserve([ReserveRequest(level.pk, 1, "11"), ReserveRequest(level.pk, 2, "12")],
                                  reference_type="order_line")
    picker = picker_client_for(network["ST1"])

    response = post(picker, "stock/count/", {"sku": "RUN-BLK-42", "location": "ST1", "counted": 1,
                                             "note": "shelf 4"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["delta"] == -2
    assert (body["stock_level"]["on_hand"], body["stock_level"]["reserved"]) == (1, 1)
    assert body["released_reservations"] == [
        {"id": second.pk, "reference_type": "order_line", "reference_id": "12", "quantity": 2}]
    event = OutboxEvent.objects.get(type="inventory.reservations_released")
    assert event.payload["reservations"] == body["released_reservations"]
    assert (event.payload["sku"], event.payload["location"], event.payload["reason"]) == ("RUN-BLK-42", "ST1", "count")
    assert StockMovement.objects.latest("pk").actor == "picker:picker-st1"


def test_count_of_a_sku_never_stocked_there_creates_the_level(network, ops_client):
    response = post(ops_client, "stock/count/", {"sku": "TEE-WHT-M", "location": "ST1", "counted": 4})
    assert response.status_code == 200 and response.json()["stock_level"]["on_hand"] == 4


def test_a_refused_request_leaves_no_new_stock_level_behind(network, ops_client):
    before = snapshot()
    response = post(ops_client, "stock/adjust/", {"sku": "TEE-WHT-M", "location": "ST1", "delta": -1, "reason": "lost"})
    assert response.status_code == 422
    assert snapshot() == before
    assert not StockLevel.objects.filter(sku=network["shirt"], location=network["ST1"]).exists()


# --- transfers ------------------------------------------------------------------------------------------


def create_transfer(client, source="WH1", destination="ST1", lines=(("RUN-BLK-42", 5), ("8712345000024", 4))):
    return post(client, "transfers/", {"source": source, "destination": destination,
                                       "lines": [{"sku": s, "quantity": q} for s, q in lines]})


def test_transfer_journey_with_partial_receipt_and_discrepancy(network, ops_client, picker_client_for):
    created = create_transfer(ops_client)
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    warehouse, store = picker_client_for(network["WH1"]), picker_client_for(network["ST1"])

    assert post(store, f"transfers/{number}/ship/", {}).status_code == 404  # the destination does not ship
    shipped = post(warehouse, f"transfers/{number}/ship/", {})
    partial = post(store, f"transfers/{number}/receive/", {"lines": [{"sku": "RUN-BLK-42", "quantity": 5}]})
    closed = post(store, f"transfers/{number}/receive/", {"lines": [{"sku": "TEE-WHT-M", "quantity": 3}],
                                                          "close": True})

    assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped")
    assert partial.json()["status"] == "partially_received"
    assert closed.status_code == 200
    assert closed.json()["status"] == "received"
    assert closed.json()["lines"] == [
        {"sku": "RUN-BLK-42", "quantity_requested": 5, "quantity_shipped": 5, "quantity_received": 5,
         "discrepancy": 0, "discrepancy_note": ""},
        {"sku": "TEE-WHT-M", "quantity_requested": 4, "quantity_shipped": 4, "quantity_received": 3,
         "discrepancy": -1, "discrepancy_note": "short 1: received 3 of 4 shipped"}]
    assert (level_of(network, "shoe", "ST1").on_hand, level_of(network, "shirt", "ST1").on_hand) == (8, 3)
    assert level_of(network, "shirt", "ST1").incoming == 0


def test_transfers_are_scoped_to_the_floor_staffs_location(network, ops_client, picker_client_for):
    number = create_transfer(ops_client).json()["number"]
    create_transfer(ops_client, source="WH1", destination="ST9", lines=(("TEE-WHT-M", 1),))
    outsider = picker_client_for(network["ST2"])
    store = picker_client_for(network["ST1"])

    assert outsider.get(f"/api/v1/transfers/{number}/").status_code == 404
    assert outsider.get("/api/v1/transfers/").json()["count"] == 0
    assert [t["number"] for t in store.get("/api/v1/transfers/").json()["results"]] == [number]
    assert ops_client.get("/api/v1/transfers/").json()["count"] == 2
    before = snapshot()
    assert post(outsider, f"transfers/{number}/cancel/", {}).status_code == 404
    assert create_transfer(outsider, source="WH1", destination="ST1").status_code == 404
    assert snapshot() == before


def test_a_store_picker_can_request_stock_into_their_store(network, picker_client_for):
    response = create_transfer(picker_client_for(network["ST1"]), lines=(("RUN-BLK-42", 2),))
    assert response.status_code == 201
    assert response.json()["created_by"] == "picker:picker-st1"


def test_transfer_errors(network, ops_client):
    number = create_transfer(ops_client).json()["number"]
    post(ops_client, f"transfers/{number}/ship/", {})
    before = snapshot()

    cancel = post(ops_client, f"transfers/{number}/cancel/", {})
    same_place = create_transfer(ops_client, source="WH1", destination="WH1")
    unknown = post(ops_client, f"transfers/{number}/receive/", {"lines": [{"sku": "8712345000099", "quantity": 1}]})

    assert (cancel.status_code, cancel.json()["code"], cancel.json()["current_status"]) == (
        409, "invalid_transition", "shipped")
    assert (same_place.status_code, same_place.json()["code"]) == (400, "invalid_transfer")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_sku")
    assert snapshot() == before
    too_many = post(ops_client, "transfers/", {"source": "ST2", "destination": "ST1",
                                               "lines": [{"sku": "RUN-BLK-42", "quantity": 3}]})
    short = post(ops_client, f"transfers/{too_many.json()['number']}/ship/", {})
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    assert short.json()["short_lines"] == [{"sku": "RUN-BLK-42", "requested": 3, "available": 2}]
    assert Transfer.objects.get(number=too_many.json()["number"]).status == "requested"


# --- checkout holds ----------------------------------------------------------------------------------------


def test_a_channel_holds_stock_for_a_cart_and_releases_it(network, channel_client):
    response = post(channel_client, "holds/", {"sku": "RUN-BLK-42", "location": "ST1", "quantity": 2,
                                               "minutes": 20, "cart_id": "cart-9"})

    assert response.status_code == 201, response.content
    hold = response.json()
    assert (hold["sku"], hold["location"], hold["quantity"], hold["cart_id"], hold["status"]) == (
        "RUN-BLK-42", "ST1", 2, "cart-9", "open")
    assert level_of(network, location="ST1").reserved == 2
    assert channel_client.get(f"/api/v1/holds/{hold['id']}/").json()["status"] == "open"
    assert channel_client.delete(f"/api/v1/holds/{hold['id']}/").status_code == 204
    assert channel_client.delete(f"/api/v1/holds/{hold['id']}/").status_code == 204  # idempotent
    assert level_of(network, location="ST1").reserved == 0


def test_holds_are_scoped_to_their_channel(network, channel_client):
    hold_id = post(channel_client, "holds/", {"sku": "RUN-BLK-42", "location": "ST1", "quantity": 1,
                                              "cart_id": "c"}).json()["id"]
    other = client_with_token(token_issue(name="app", channel=factories.ChannelFactory(code="app", kind="app"))[1])

    assert other.get(f"/api/v1/holds/{hold_id}/").status_code == 404
    assert other.delete(f"/api/v1/holds/{hold_id}/").status_code == 404
    assert Reservation.objects.get(pk=hold_id).status == "open"


def test_a_hold_for_more_than_is_available_is_409(network, channel_client):
    before = snapshot()
    for location in ("ST1", "ST9"):  # ST9 has no stock level for the shoe at all
        response = post(channel_client, "holds/", {"sku": "RUN-BLK-42", "location": location, "quantity": 4,
                                                   "cart_id": "c"})
        assert (response.status_code, response.json()["code"]) == (409, "insufficient_stock")
    assert snapshot() == before


def test_staff_cannot_create_holds(network, ops_client):
    response = post(ops_client, "holds/", {"sku": "RUN-BLK-42", "location": "ST1", "quantity": 1, "cart_id": "c"})
    assert response.status_code == 403


# --- POS sales ---------------------------------------------------------------------------------------------


@pytest.fixture
def pos_client(db):
    channel = factories.ChannelFactory(code="pos", kind="pos")
    return client_with_token(token_issue(name="pos", channel=channel)[1])


def test_a_pos_sale_is_booked_once_per_receipt(network, pos_client):
    body = {"location": "ST2", "receipt_id": "T1-000123", "lines": [{"sku": "8712345000024", "quantity": 2}]}

    first = post(pos_client, "pos/sales/", body)
    again = post(pos_client, "pos/sales/", body)

    assert first.status_code == 201 and again.status_code == 200
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert first.json()["lines"] == [{"sku": "TEE-WHT-M", "quantity": 2}]
    assert level_of(network, "shirt", "ST2").on_hand == 3
    movement = StockMovement.objects.get(reason="pos_sale")
    assert (movement.delta, movement.reference_id, movement.actor) == (-2, "T1-000123", "channel:pos")


def test_pos_sale_errors_move_nothing(network, pos_client, ops_client):
    before = snapshot()
    short = post(pos_client, "pos/sales/", {"location": "ST2", "receipt_id": "R1",
                                            "lines": [{"sku": "RUN-BLK-42", "quantity": 3}]})
    warehouse = post(pos_client, "pos/sales/", {"location": "WH1", "receipt_id": "R2",
                                                "lines": [{"sku": "RUN-BLK-42", "quantity": 1}]})
    staff = post(ops_client, "pos/sales/", {"location": "ST2", "receipt_id": "R3",
                                            "lines": [{"sku": "RUN-BLK-42", "quantity": 1}]})
    empty = post(pos_client, "pos/sales/", {"location": "ST2", "receipt_id": "R4", "lines": []})
    web = factories.ChannelFactory(code="web-store", kind="web")
    web_till = post(client_with_token(token_issue(name="web", channel=web)[1]), "pos/sales/",
                    {"location": "ST2", "receipt_id": "R5", "lines": [{"sku": "RUN-BLK-42", "quantity": 1}]})
    assert web_till.status_code == 403  # only a store till (a pos channel) books POS sales

    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    assert (warehouse.status_code, warehouse.json()["code"]) == (422, "not_a_store")
    assert staff.status_code == 403
    assert (empty.status_code, empty.json()["field"]) == (400, "lines")
    assert snapshot() == before
