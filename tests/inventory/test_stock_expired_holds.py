"""Staff operations that lower available stock and an expired checkout hold in their way.

Availability already counts the units of an expired hold as sellable, so no operation waits
for the periodic sweep (`inventory.tasks.release_expired_holds`; `make run` has no beat at
all): when short, each releases the expired holds of its stock level, as the sweep would
(status "released", a "hold_expired" movement by the expiry actor), and tries once more. A
hold that has not expired still blocks it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import ImportRejected, InsufficientStock, StockWouldGoNegative
from inventory.models import Reservation, StockLevel, StockMovement, Transfer
from inventory.services import ReserveRequest, TransferLineInput
from omnichannel.models import OutboxEvent
from tests.conftest import requires_postgres, run_jobs_together

pytestmark = pytest.mark.django_db

QUANTITIES = ("on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control")


def level_of(network, sku: str = "shoe", location: str = "ST1") -> StockLevel:
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def quantities(level: StockLevel) -> dict[str, int]:
    level.refresh_from_db()
    return {q: getattr(level, q) for q in QUANTITIES}


def snapshot():
    """Everything a refused operation must leave as it was."""
    return (StockMovement.objects.count(), OutboxEvent.objects.count(), Transfer.objects.count(),
            list(Reservation.objects.order_by("pk").values_list("status", "quantity")),
            list(StockLevel.objects.order_by("pk").values_list(*QUANTITIES)))


def hold(level: StockLevel, quantity: int, *, expired: bool, cart: str = "cart-1") -> Reservation:
    """A hold for 5 minutes made 10 minutes ago (expired), or one made now for 15 minutes."""
    minutes, ago = (5, 10) if expired else (15, 0)
    return services.hold_create(stock_level=level, quantity=quantity, minutes=minutes, reference_id=cart,
                                channel_code="web", actor="channel:web",
                                now=timezone.now() - timedelta(minutes=ago))


def assert_released_as_by_the_sweep(held: Reservation) -> None:
    held.refresh_from_db()
    assert (held.status, held.closed_at is not None) == ("released", True)
    assert list(StockMovement.objects.filter(stock_level_id=held.stock_level_id, reason="hold_expired")
                .values_list("state", "delta", "reference_type", "reference_id", "actor")) == [
        ("reserved", -held.quantity, "cart", held.reference_id, "system:hold-expiry")]
    assert inventory_violations() == []


def assert_still_open(held: Reservation) -> None:
    held.refresh_from_db()
    assert held.status == "open"
    assert not StockMovement.objects.filter(reason="hold_expired").exists()


# --- adjust down ------------------------------------------------------------------------------------------


def test_an_adjustment_down_takes_units_an_expired_hold_still_blocks(network):
    level = level_of(network)  # 3 on hand, all held by a cart abandoned 5 minutes ago
    stale = hold(level, 3, expired=True)

    services.stock_adjust(stock_level=level, delta=-2, reason="theft", actor="ops:ann")

    assert quantities(level) == {"on_hand": 1, "reserved": 0, "safety_stock": 0, "incoming": 0, "damaged": 0,
                                      "quality_control": 0}
    assert StockMovement.objects.filter(stock_level=level, reason="theft").get().delta == -2
    assert_released_as_by_the_sweep(stale)


def test_an_adjustment_down_never_takes_units_of_a_live_hold(network):
    level = level_of(network)
    live = hold(level, 3, expired=False)
    before = snapshot()

    with pytest.raises(StockWouldGoNegative), transaction.atomic():
        services.stock_adjust(stock_level=level, delta=-2, reason="theft")

    assert snapshot() == before
    assert_still_open(live)


# --- moves out of available -------------------------------------------------------------------------------


@pytest.mark.parametrize("to_state", ["damaged", "quality_control"])
def test_units_under_an_expired_hold_can_be_moved_out_of_available(network, to_state):
    level = level_of(network)
    stale = hold(level, 3, expired=True)

    services.stock_move_state(level, "available", to_state, 2, f"to_{to_state}", actor="ops:ann")

    assert (quantities(level)[to_state], level.reserved, level.on_hand, level.available) == (2, 0, 3, 1)
    assert_released_as_by_the_sweep(stale)


@pytest.mark.parametrize("to_state", ["damaged", "quality_control"])
def test_units_under_a_live_hold_are_not_moved_out_of_available(network, to_state):
    level = level_of(network)
    live = hold(level, 3, expired=False)
    before = snapshot()

    with pytest.raises(StockWouldGoNegative) as error, transaction.atomic():
        services.stock_move_state(level, "available", to_state, 2, f"to_{to_state}")

    assert error.value.extra == {"current": 0}
    assert snapshot() == before
    assert_still_open(live)


# --- compare-and-set --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "expected", "value", "after"), [
    ("on_hand", 3, 1, {"on_hand": 1, "damaged": 0, "quality_control": 0}),
    ("damaged", 0, 2, {"on_hand": 3, "damaged": 2, "quality_control": 0}),
    ("quality_control", 0, 2, {"on_hand": 3, "damaged": 0, "quality_control": 2}),
])
def test_a_set_is_not_refused_for_units_an_expired_hold_still_blocks(network, state, expected, value, after):
    level = level_of(network)
    stale = hold(level, 3, expired=True)

    services.stock_set(level, state, expected=expected, value=value, actor="sync:erp")

    now = quantities(level)
    assert ({k: now[k] for k in after}, now["reserved"]) == (after, 0)
    assert_released_as_by_the_sweep(stale)


@pytest.mark.parametrize(("state", "expected", "value"), [("on_hand", 3, 1), ("damaged", 0, 2)])
def test_a_set_is_refused_for_units_of_a_live_hold(network, state, expected, value):
    level = level_of(network)
    live = hold(level, 3, expired=False)
    before = snapshot()

    with pytest.raises(StockWouldGoNegative), transaction.atomic():
        services.stock_set(level, state, expected=expected, value=value)

    assert snapshot() == before
    assert_still_open(live)


# --- cycle count ------------------------------------------------------------------------------------------


def test_a_count_releases_an_expired_hold_before_any_order_reservation(network):
    level = level_of(network)  # 3 on hand
    stale = hold(level, 1, expired=True)
    [order] = services.stock_reserve([ReserveRequest(level.pk, 2, "7")], reference_type="order_line")

    result = services.stock_count(level, 2, actor="ops:ann")

    assert (result.delta, result.released) == (-1, [])
    assert (quantities(level)["on_hand"], level.reserved) == (2, 2)
    order.refresh_from_db()
    assert order.status == "open"
    assert not OutboxEvent.objects.filter(type="inventory.reservations_released").exists()
    assert_released_as_by_the_sweep(stale)


def test_a_count_keeps_a_live_hold_and_releases_the_newest_reservations_as_before(network):
    level = level_of(network)
    live = hold(level, 1, expired=False)
    [order] = services.stock_reserve([ReserveRequest(level.pk, 2, "7")], reference_type="order_line")

    result = services.stock_count(level, 2, actor="ops:ann")

    assert [r.pk for r in result.released] == [order.pk]
    assert (quantities(level)["on_hand"], level.reserved) == (2, 1)
    assert OutboxEvent.objects.filter(type="inventory.reservations_released").count() == 1
    assert_still_open(live)


# --- CSV import -------------------------------------------------------------------------------------------


def test_an_import_lowers_on_hand_under_an_expired_hold(network):
    level = level_of(network)
    stale = hold(level, 3, expired=True)

    result = services.stock_import("sku,location,on_hand\nRUN-BLK-42,ST1,1\n", actor="ops:ann")

    assert (result.rows, result.levels_changed) == (1, 1)
    assert (quantities(level)["on_hand"], level.reserved) == (1, 0)
    assert_released_as_by_the_sweep(stale)


def test_an_import_is_rejected_below_a_live_hold(network):
    level = level_of(network)
    live = hold(level, 3, expired=False)
    before = snapshot()

    with pytest.raises(ImportRejected) as error, transaction.atomic():
        services.stock_import("sku,location,on_hand\nRUN-BLK-42,ST1,1\n")

    assert [(e.line, e.field) for e in error.value.errors] == [(2, "on_hand")]
    assert snapshot() == before
    assert_still_open(live)


# --- transfers --------------------------------------------------------------------------------------------


def request_transfer(network, *lines: tuple[str, int], source: str = "ST1", destination: str = "WH1") -> Transfer:
    return services.transfer_request(network[source], network[destination],
                                     [TransferLineInput(network[sku], qty) for sku, qty in lines], actor="ops:ann")


def test_a_transfer_ships_units_an_expired_hold_still_blocks(network):
    transfer = request_transfer(network, ("shoe", 2), ("shirt", 2), source="ST2")  # ST2: 2 shoes, 5 shirts
    stale = hold(level_of(network, "shoe", "ST2"), 2, expired=True)
    fresh = hold(level_of(network, "shirt", "ST2"), 3, expired=False, cart="cart-2")  # leaves 2 shirts to ship

    services.transfer_ship(transfer, actor="ops:ann")

    transfer.refresh_from_db()
    assert transfer.status == "shipped"
    assert quantities(level_of(network, "shoe", "ST2"))["on_hand"] == 0
    assert quantities(level_of(network, "shirt", "ST2"))["on_hand"] == 3
    assert quantities(level_of(network, "shoe", "WH1"))["incoming"] == 2
    assert_released_as_by_the_sweep(stale)
    fresh.refresh_from_db()
    assert fresh.status == "open"


def test_a_transfer_does_not_ship_units_of_a_live_hold(network):
    transfer = request_transfer(network, ("shoe", 2))
    live = hold(level_of(network), 3, expired=False)
    before = snapshot()

    with pytest.raises(InsufficientStock) as error, transaction.atomic():
        services.transfer_ship(transfer, actor="ops:ann")

    assert [s.as_dict() for s in error.value.shortages] == [{"sku": "RUN-BLK-42", "requested": 2, "available": 0}]
    assert snapshot() == before
    assert_still_open(live)


# --- a location rejecting its fulfillment as damaged ---------------------------------------------------


def rejected_as_damaged(network, channel_client, picker_client_for, *, expired: bool) -> tuple[StockLevel, Reservation]:
    """An order for 1 shoe, then every other unit of its location held by a cart and a safety
    stock of 1 set: after its own unit is released, nothing is available unless the hold has expired."""
    from orders.models import Order
    from tests.payloads import ship_order

    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")
    assert response.status_code == 201, response.content
    fulfillment = Order.objects.get(number=response.json()["number"]).fulfillments.get()
    level = level_of(network, "shoe", fulfillment.location.code)
    cart = hold(level, level.on_hand - level.reserved, expired=expired)
    services.stock_set(level, "safety_stock", expected=0, value=1)
    answer = picker_client_for(fulfillment.location).post(f"/api/v1/fulfillments/{fulfillment.pk}/reject/",
                                                          {"reason": "damaged"}, format="json")
    assert answer.status_code == 200, answer.content
    return level, cart


@pytest.mark.django_db(transaction=True)
def test_a_rejection_as_damaged_moves_units_an_expired_hold_still_blocks(network, channel_client,
                                                                        picker_client_for):
    level, stale = rejected_as_damaged(network, channel_client, picker_client_for, expired=True)

    assert (quantities(level)["damaged"], level.reserved) == (1, 0)
    assert_released_as_by_the_sweep(stale)


@pytest.mark.django_db(transaction=True)
def test_a_rejection_as_damaged_moves_no_unit_of_a_live_hold(network, channel_client, picker_client_for):
    level, live = rejected_as_damaged(network, channel_client, picker_client_for, expired=False)

    assert (quantities(level)["damaged"], level.reserved) == (0, live.quantity)
    assert_still_open(live)


# --- over HTTP --------------------------------------------------------------------------------------------


def test_the_adjust_and_move_api_answer_200_past_an_expired_hold_and_422_for_a_live_one(network, ops_client):
    stale = hold(level_of(network), 3, expired=True)
    hold(level_of(network, "shoe", "ST2"), 2, expired=False, cart="cart-2")

    adjusted = ops_client.post("/api/v1/stock/adjust/", {"sku": "RUN-BLK-42", "location": "ST1", "delta": -1,
                                                         "reason": "theft"}, format="json")
    refused = ops_client.post("/api/v1/stock/move/", {"sku": "RUN-BLK-42", "location": "ST2",
                                                      "from_state": "available", "to_state": "damaged",
                                                      "quantity": 1}, format="json")

    assert adjusted.status_code == 200, adjusted.content
    assert (adjusted.json()["on_hand"], adjusted.json()["reserved"], adjusted.json()["available"]) == (2, 0, 2)
    assert_released_as_by_the_sweep(stale)
    assert refused.status_code == 422, refused.content
    assert refused.json()["field"] == "quantity"


def test_the_transfer_ship_api_answers_200_past_an_expired_hold_and_409_for_a_live_one(network, ops_client):
    numbers = [ops_client.post("/api/v1/transfers/", {"source": source, "destination": "WH1",
                                                      "lines": [{"sku": "RUN-BLK-42", "quantity": 2}]},
                               format="json").json()["number"] for source in ("ST1", "ST2")]
    stale = hold(level_of(network, "shoe", "ST1"), 3, expired=True)
    hold(level_of(network, "shoe", "ST2"), 2, expired=False, cart="cart-2")

    shipped = ops_client.post(f"/api/v1/transfers/{numbers[0]}/ship/", {}, format="json")
    refused = ops_client.post(f"/api/v1/transfers/{numbers[1]}/ship/", {}, format="json")

    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["status"] == "shipped"
    assert_released_as_by_the_sweep(stale)
    assert refused.status_code == 409, refused.content
    assert Transfer.objects.get(number=numbers[1]).status == "requested"


# --- concurrency (Postgres) -------------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_adjustments_and_the_sweep_at_once_release_each_expired_hold_once(network):
    from inventory.tasks import release_expired_holds

    level = level_of(network, "shirt", "WH1")  # 50 on hand, every unit under an expired hold
    with transaction.atomic():
        stale = [hold(level, 5, expired=True, cart=f"c{i}") for i in range(10)]

    def work(i: int) -> object:
        if i % 3 == 0:
            return release_expired_holds()
        with transaction.atomic():
            return services.stock_adjust(stock_level=StockLevel.objects.get(pk=level.pk), delta=-4, reason="theft",
                                         actor=f"ops:{i}").on_hand

    results = run_jobs_together([lambda i=i: work(i) for i in range(9)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert quantities(level)["on_hand"] == 50 - 6 * 4
    assert level.reserved == 0
    assert set(Reservation.objects.filter(pk__in=[h.pk for h in stale]).values_list("status", flat=True)) == {
        "released"}
    assert StockMovement.objects.filter(stock_level=level, reason="hold_expired").count() == 10
    assert inventory_violations() == []


# --- a reservation whose expired holds another transaction released meanwhile ----------------------------


@pytest.mark.parametrize("levels", [1, 2], ids=["one level", "several levels"])
def test_a_reservation_takes_the_units_when_another_transaction_released_the_expired_holds_meanwhile(
        network, monkeypatch, levels):
    # A conditional UPDATE that fails locks no row: between it and this transaction's own
    # release, the sweep (or a sale) may release the expired holds and commit. This
    # transaction's release then finds nothing to release, yet the units are free: it must
    # still try the UPDATE again, not refuse the order.
    from inventory.services import reservations

    blocked = level_of(network)  # 3 on hand, all held by a cart abandoned 5 minutes ago
    stale = hold(blocked, 3, expired=True)
    real = reservations.holds_release_expired

    def released_by_someone_else(**kwargs):
        real(**kwargs)
        return 0  # as if the sweep had released them first

    monkeypatch.setattr(reservations, "holds_release_expired", released_by_someone_else)
    requests = [ReserveRequest(blocked.pk, 2, "line-1")]
    if levels == 2:
        requests.append(ReserveRequest(level_of(network, "shoe", "WH1").pk, 1, "line-2"))
    made = services.stock_reserve(requests, reference_type="order_line", actor="test")

    assert sorted(r.quantity for r in made) == sorted(r.quantity for r in requests)
    assert quantities(blocked)["reserved"] == 2
    assert_released_as_by_the_sweep(stale)
