"""Stock operations at one stock level (services): receive, adjust, move between states,
compare-and-set and cycle counts; the ledger and `check_inventory`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import (
    InsufficientStock,
    QuantityChanged,
    QuantityInvalid,
    ReasonInvalid,
    StateMoveInvalid,
    StockWouldGoNegative,
)
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import ReserveRequest
from omnichannel.models import OutboxEvent
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db

QUANTITIES = ("on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control")


def level_of(network, sku: str = "shoe", location: str = "WH1") -> StockLevel:
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def quantities(level: StockLevel) -> dict[str, int]:
    level.refresh_from_db()
    return {q: getattr(level, q) for q in QUANTITIES}


def snapshot():
    """Everything a refused operation must leave as it was."""
    return (StockMovement.objects.count(), Reservation.objects.count(), OutboxEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list(*QUANTITIES)))


def reserve(level: StockLevel, quantity: int, reference: str = "1") -> Reservation:
    [reservation] = services.stock_reserve([ReserveRequest(level.pk, quantity, reference)],
                                           reference_type="order_line", actor="test")
    return reservation


def movements(level: StockLevel, since: int = 0) -> list[tuple[str, int, str]]:
    return list(StockMovement.objects.filter(stock_level=level, pk__gt=since).order_by("pk")
                .values_list("state", "delta", "reason"))


def last_movement_pk() -> int:
    return StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- receive and adjust ------------------------------------------------------------------------------


def test_receive_adds_on_hand_with_one_movement(network):
    level, mark = level_of(network), last_movement_pk()

    services.stock_receive(sku=network["shoe"], location=network["WH1"], quantity=7, reference_type="receipt",
                           reference_id="PO-1", actor="ops:ann")

    assert quantities(level)["on_hand"] == 27
    movement = StockMovement.objects.get(pk__gt=mark)
    assert (movement.state, movement.delta, movement.reason, movement.reference_type, movement.reference_id,
            movement.actor) == ("on_hand", 7, "receive", "receipt", "PO-1", "ops:ann")


def test_units_can_arrive_straight_into_quality_control_even_under_safety_stock(network):
    level = level_of(network, location="ST2")  # 2 shoes
    services.stock_set(level, "safety_stock", expected=0, value=5)
    mark = last_movement_pk()

    services.stock_receive(sku=network["shoe"], location=network["ST2"], quantity=4, into="quality_control")

    assert quantities(level) | {"available": level.available} == {
        "on_hand": 6, "reserved": 0, "safety_stock": 5, "incoming": 0, "damaged": 0, "quality_control": 4,
        "available": 0}
    assert movements(level, mark) == [("on_hand", 4, "receive"), ("quality_control", 4, "receive")]
    with pytest.raises(StateMoveInvalid):
        services.stock_receive(sku=network["shoe"], location=network["ST2"], quantity=1, into="reserved")


def test_adjust_down_takes_only_available_units_and_names_its_reason(network):
    level = level_of(network)
    reserve(level, 15)

    services.stock_adjust(stock_level=level, delta=-5, reason="lost", actor="ops:ann")

    assert quantities(level)["on_hand"] == 15
    assert movements(level)[-1] == ("on_hand", -5, "lost")
    before = snapshot()
    with pytest.raises(StockWouldGoNegative):
        services.stock_adjust(stock_level=level, delta=-1, reason="lost")
    assert snapshot() == before


@pytest.mark.parametrize(("reason", "note", "field"), [("oops", "", "reason"), ("", "", "reason"),
                                                       ("other", "  ", "note")])
def test_adjust_refuses_unknown_reasons_and_other_without_a_note(network, reason, note, field):
    before = snapshot()

    with pytest.raises(ReasonInvalid) as error:
        services.stock_adjust(stock_level=level_of(network), delta=2, reason=reason, note=note)

    assert error.value.field == field
    assert snapshot() == before


def test_adjust_with_other_and_a_note_is_recorded(network):
    level = level_of(network)

    services.stock_adjust(stock_level=level, delta=3, reason="other", note="pallet under the stairs")

    assert StockMovement.objects.filter(stock_level=level).last().note == "pallet under the stairs"
    assert quantities(level)["on_hand"] == 23


def test_adjust_of_zero_is_refused(network):
    with pytest.raises(QuantityInvalid):
        services.stock_adjust(stock_level=level_of(network), delta=0, reason="correction")


# --- moves between states ----------------------------------------------------------------------------


def test_move_to_damaged_and_back_and_write_off(network):
    level, mark = level_of(network), last_movement_pk()

    services.stock_move_state(level, "available", "damaged", 4, "damaged_in_store", actor="ops:ann")
    assert (quantities(level)["damaged"], level.available) == (4, 16)
    services.stock_move_state(level, "damaged", "available", 1, "repaired")
    services.stock_move_state(level, "damaged", "written_off", 2, "scrapped")

    assert quantities(level) == {"on_hand": 18, "reserved": 0, "safety_stock": 0, "incoming": 0, "damaged": 1,
                                 "quality_control": 0}
    assert movements(level, mark) == [("damaged", 4, "damaged_in_store"), ("damaged", -1, "repaired"),
                                      ("damaged", -2, "scrapped"), ("on_hand", -2, "scrapped")]
    assert inventory_violations() == []


def test_quality_control_round_trip_and_qc_to_damaged(network):
    level = level_of(network)

    services.stock_move_state(level, "available", "quality_control", 5, "inspection")
    services.stock_move_state(level, "quality_control", "damaged", 2, "qc_failed")
    services.stock_move_state(level, "quality_control", "available", 3, "qc_passed")

    q = quantities(level)
    assert (q["on_hand"], q["quality_control"], q["damaged"], level.available) == (20, 0, 2, 18)


def test_move_into_damaged_never_takes_reserved_or_safety_units(network):
    level = level_of(network)
    reserve(level, 12)
    services.stock_set(level, "safety_stock", expected=0, value=5)
    before = snapshot()

    with pytest.raises(StockWouldGoNegative) as error:
        services.stock_move_state(level, "available", "damaged", 4, "damaged_in_store")

    assert error.value.extra["current"] == 3
    assert snapshot() == before


def test_move_out_of_damaged_needs_damaged_units(network):
    level = level_of(network)
    services.stock_move_state(level, "available", "damaged", 1, "dropped")
    before = snapshot()

    with pytest.raises(StockWouldGoNegative):
        services.stock_move_state(level, "damaged", "written_off", 2, "scrapped")

    assert snapshot() == before


@pytest.mark.parametrize(("source", "target"), [("available", "written_off"), ("damaged", "damaged"),
                                                ("on_hand", "damaged"), ("available", "reserved")])
def test_moves_that_do_not_exist_are_refused(network, source, target):
    with pytest.raises(StateMoveInvalid):
        services.stock_move_state(level_of(network), source, target, 1, "x")


def test_a_move_reason_must_be_a_code(network):
    with pytest.raises(ReasonInvalid):
        services.stock_move_state(level_of(network), "available", "damaged", 1, "Dropped It!")


# --- compare-and-set ---------------------------------------------------------------------------------


def test_set_changes_the_value_when_the_expected_value_still_holds(network):
    level = level_of(network)

    services.stock_set(level, "on_hand", expected=20, value=26, actor="sync:erp")
    services.stock_set(level, "safety_stock", expected=0, value=4, actor="sync:erp")

    assert quantities(level)["on_hand"] == 26 and level.safety_stock == 4 and level.available == 22
    assert movements(level)[-2:] == [("on_hand", 6, "set"), ("safety_stock", 4, "set")]
    assert inventory_violations() == []


def test_set_with_a_stale_expected_value_is_a_conflict_carrying_the_current_value(network):
    level = level_of(network)
    before = snapshot()

    with pytest.raises(QuantityChanged) as error:
        services.stock_set(level, "on_hand", expected=19, value=30)

    assert (error.value.status, error.value.current, error.value.extra["current"]) == (409, 20, 20)
    assert snapshot() == before


def test_set_to_the_same_value_checks_the_expectation_and_writes_nothing(network):
    level = level_of(network)
    before = snapshot()

    services.stock_set(level, "on_hand", expected=20, value=20)
    with pytest.raises(QuantityChanged):
        services.stock_set(level, "on_hand", expected=21, value=21)

    assert snapshot() == before


def test_set_on_hand_below_what_is_held_is_refused(network):
    level = level_of(network)
    reserve(level, 8)
    services.stock_move_state(level, "available", "quality_control", 2, "inspection")
    before = snapshot()

    with pytest.raises(StockWouldGoNegative):
        services.stock_set(level, "on_hand", expected=20, value=9)

    assert snapshot() == before
    services.stock_set(level, "on_hand", expected=20, value=10)
    assert quantities(level)["on_hand"] == 10


def test_set_damaged_up_takes_only_available_units(network):
    level = level_of(network)
    reserve(level, 18)

    with pytest.raises(StockWouldGoNegative):
        services.stock_set(level, "damaged", expected=0, value=3)
    services.stock_set(level, "damaged", expected=0, value=2)

    assert quantities(level)["damaged"] == 2 and level.available == 0


@pytest.mark.parametrize("state", ["reserved", "incoming", "reorder_point"])
def test_only_settable_states_can_be_set(network, state):
    with pytest.raises(QuantityInvalid):
        services.stock_set(level_of(network), state, expected=0, value=1)


# --- cycle count -------------------------------------------------------------------------------------


def test_count_above_the_books_adds_the_difference(network):
    level = level_of(network)

    result = services.stock_count(level, 23, actor="picker:bo")

    assert (result.delta, result.released, quantities(level)["on_hand"]) == (3, [], 23)
    assert movements(level)[-1] == ("on_hand", 3, "count")
    assert not OutboxEvent.objects.filter(type="inventory.reservations_released").exists()


def test_count_that_still_covers_reservations_releases_nothing(network):
    level = level_of(network)
    reserve(level, 5)

    result = services.stock_count(level, 5)

    assert (result.delta, result.released) == (-15, [])
    assert quantities(level)["on_hand"] == 5 and level.reserved == 5


def test_count_below_reservations_releases_the_newest_first_and_tells_orders(network):
    level = level_of(network)
    oldest, middle, newest = reserve(level, 6, "101"), reserve(level, 4, "102"), reserve(level, 5, "103")
    mark = last_movement_pk()

    result = services.stock_count(level, 7, actor="picker:bo")

    assert [r.pk for r in result.released] == [newest.pk, middle.pk]
    assert quantities(level) == {"on_hand": 7, "reserved": 6, "safety_stock": 0, "incoming": 0, "damaged": 0,
                                 "quality_control": 0}
    assert dict(Reservation.objects.filter(pk__in=[oldest.pk, middle.pk, newest.pk]).values_list("pk", "status")) == {
        oldest.pk: "open", middle.pk: "released", newest.pk: "released"}
    # reservations are released before on_hand falls (the check constraint), each with its own movement
    assert movements(level, mark) == [("reserved", -5, "count"), ("reserved", -4, "count"), ("on_hand", -13, "count")]
    event = OutboxEvent.objects.get(type="inventory.reservations_released")
    assert (event.aggregate_type, event.aggregate_id) == ("stock_level", str(level.pk))
    assert event.payload == {
        "reason": "count", "sku": "RUN-BLK-42", "location": "WH1",
        "reservations": [{"id": newest.pk, "reference_type": "order_line", "reference_id": "103", "quantity": 5},
                         {"id": middle.pk, "reference_type": "order_line", "reference_id": "102", "quantity": 4}]}
    assert inventory_violations() == []


def test_count_below_damaged_and_qc_drops_damaged_first_then_qc(network):
    level = level_of(network)
    services.stock_move_state(level, "available", "damaged", 3, "dropped")
    services.stock_move_state(level, "available", "quality_control", 2, "inspection")
    hold = reserve(level, 1)

    result = services.stock_count(level, 2)

    assert [r.pk for r in result.released] == [hold.pk]
    assert quantities(level) == {"on_hand": 2, "reserved": 0, "safety_stock": 0, "incoming": 0, "damaged": 0,
                                 "quality_control": 2}
    assert movements(level)[-3:] == [("reserved", -1, "count"), ("on_hand", -18, "count"), ("damaged", -3, "count")]
    assert inventory_violations() == []


def test_count_to_zero_releases_everything(network):
    level = level_of(network)
    reserve(level, 2)
    reserve(level, 3)

    result = services.stock_count(level, 0)

    assert len(result.released) == 2
    assert quantities(level)["on_hand"] == 0 and level.reserved == 0
    with pytest.raises(InsufficientStock):
        reserve(level, 1)


def test_negative_count_is_refused(network):
    with pytest.raises(QuantityInvalid):
        services.stock_count(level_of(network), -1)


# --- the ledger and check_inventory --------------------------------------------------------------------


def test_every_state_change_is_in_the_ledger_so_the_check_passes(network):
    level = level_of(network)
    reserve(level, 2)
    services.stock_set(level, "safety_stock", expected=0, value=3)
    services.stock_move_state(level, "available", "quality_control", 4, "inspection")
    services.stock_count(level, 18)

    out = StringIO()
    call_command("check_inventory", stdout=out)

    assert inventory_violations() == []
    assert "all invariants hold" in out.getvalue()


def test_check_inventory_lists_every_violation_readably_and_fails(network):
    level = level_of(network)
    StockLevel.objects.filter(pk=level.pk).update(safety_stock=2, incoming=5)  # behind the ledger's back
    err = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("check_inventory", stderr=err)

    assert "2 inventory invariant violation(s) in 1 of 6 stock level(s)" in str(error.value)
    assert err.getvalue().splitlines() == [
        f"RUN-BLK-42 @ WH1 (stock level {level.pk}):",
        "  - safety_stock is 2 but the sum of its movements is 0",
        "  - incoming is 5 but the sum of its movements is 0",
    ]


def test_check_inventory_flags_reserved_without_open_reservations(network):
    level = level_of(network)
    reservation = reserve(level, 3)
    Reservation.objects.filter(pk=reservation.pk).update(status="released")

    problems = [v.problem for v in inventory_violations()]

    assert problems == ["reserved is 3 but the sum of open reservations is 0"]


@requires_postgres
def test_movements_cannot_be_updated_or_deleted_in_postgres(network):
    movement = StockMovement.objects.earliest("pk")

    for statement in ("UPDATE inventory_stockmovement SET delta = 99 WHERE id = %s",
                      "DELETE FROM inventory_stockmovement WHERE id = %s"):
        with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [movement.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(delta=0)

    assert StockMovement.objects.get(pk=movement.pk).delta == movement.delta


# --- reservations: rows first, the conditional UPDATE last ------------------------------------------


def test_a_reservation_returns_saved_rows_with_one_ledger_movement_each(network):
    shoe, shirt, mark = level_of(network), level_of(network, "shirt"), last_movement_pk()

    made = services.stock_reserve([ReserveRequest(shoe.pk, 2, "7"), ReserveRequest(shirt.pk, 3, "8")],
                                  reference_type="order_line", actor="test", channel_code="web")

    stored = Reservation.objects.in_bulk([r.pk for r in made])
    assert [(stored[r.pk].stock_level_id, stored[r.pk].quantity, stored[r.pk].status, stored[r.pk].reference_id,
             stored[r.pk].channel_code) for r in made] == [(shoe.pk, 2, "open", "7", "web"),
                                                           (shirt.pk, 3, "open", "8", "web")]
    assert all(r.created_at is not None and not r._state.adding for r in made)
    assert (quantities(shoe)["reserved"], quantities(shirt)["reserved"]) == (2, 3)
    assert movements(shoe, mark) == [("reserved", 2, "reserve")]
    assert movements(shirt, mark) == [("reserved", 3, "reserve")]
    assert inventory_violations() == []


def test_a_short_line_in_a_cart_leaves_nothing_behind_once_the_savepoint_rolls_back(network):
    shoe, shirt = level_of(network), level_of(network, "shirt")
    before = snapshot()

    with pytest.raises(InsufficientStock) as raised, transaction.atomic():
        services.stock_reserve([ReserveRequest(shoe.pk, 1, "1"), ReserveRequest(shirt.pk, 10_000, "1")],
                               reference_type="order_line")

    assert [(s.sku, s.requested) for s in raised.value.shortages] == [(network["shirt"].code, 10_000)]
    assert snapshot() == before
    assert inventory_violations() == []
