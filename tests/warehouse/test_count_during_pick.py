"""A stock count while an order is on the floor (docs/adr/0005).

A count that takes only some lines of a fulfillment being picked takes just those lines'
picks off the walk (units already picked for them are listed to put back); the fulfillment
goes on with its other lines and the released lines are routed again. Units already picked
(in a tote, packed, on the pickup shelf) were scanned off their shelf: a count takes them as
found, releases reservations not yet picked instead, and refuses to go below them."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.template.loader import render_to_string

from inventory.models import Reservation
from inventory.services import stock as inventory_stock
from inventory.services import stock_count
from orders.models import Allocation, Fulfillment, Order, OrderEvent
from orders.services.reroute import allocations_released
from tests.warehouse.floor_flow import books_agree, on_a_walk, outbound, pack_all, pick_all, scan
from tests.warehouse.floor_setup import fulfillment_at, in_bin, last_movement_id, level, movements, place
from tests.warehouse.test_count_releases_tote import count, live_locations, staff_api
from tests.warehouse.test_floor_web import logged_in
from warehouse import selectors
from warehouse.checks import bin_violations
from warehouse.errors import NotReady
from warehouse.models import PickList, PickTask, PutBack
from warehouse.services import packing, picking, putback

pytestmark = pytest.mark.django_db




def walk(pick_list: PickList) -> list[tuple[str, int]]:
    """What the picker still has to pick on this list: (SKU, units)."""
    return [(t.sku.code, t.remaining) for t in pick_list.tasks.to_walk().select_related("sku").order_by("sequence")]


def held(fulfillment: Fulfillment) -> dict[str, int]:
    return dict(Allocation.objects.filter(fulfillment=fulfillment, is_active=True)
                .values_list("order_line__sku__code", "quantity"))


def timeline(order: Order, event_type: str) -> list[str]:
    return list(OrderEvent.objects.filter(order=order, type=event_type).values_list("message", flat=True))



# --- gap 1: a count takes some lines of a fulfillment being picked ----------------------------------


def test_a_count_that_takes_one_line_of_a_tote_being_picked_takes_that_line_off_the_walk(
        floor, django_capture_on_commit_callbacks):
    # given two tees and a cap for Eva on a walk at Damrak, one tee already in the tote
    order = place(floor, (floor.shirt, 2), (floor.cap, 1))
    fulfillment, pick_list = on_a_walk(floor, order)
    tee_pick, cap_pick = pick_list.tasks.get(sku=floor.shirt), pick_list.tasks.get(sku=floor.cap)
    scan(tee_pick)
    assert walk(pick_list) == [("TEE-WHT-M", 1), ("CAP-RED", 1)]

    # when a cycle count finds one tee at Damrak (the one in the tote: the shelf is empty)
    body = count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 1, django_capture_on_commit_callbacks)

    # then the tee line leaves Damrak's walk: the picker is no longer sent for the second tee
    assert [r["quantity"] for r in body["released_reservations"]] == [2]
    assert walk(pick_list) == [("CAP-RED", 1)]
    assert selectors.next_task(pick_list) == cap_pick
    assert PickTask.objects.get(pk=tee_pick.pk).status == "cancelled"
    # a scan of the tee is refused, saying why, and records nothing
    with pytest.raises(NotReady, match="a stock count found too few TEE-WHT-M here"), transaction.atomic():
        scan(tee_pick)
    assert PickTask.objects.get(pk=tee_pick.pk).picked == 1
    # the tee already in the tote is listed to put back
    assert list(PutBack.objects.values_list("fulfillment_id", "sku__code", "bin__code", "quantity", "done_at")) == [
        (fulfillment.pk, "TEE-WHT-M", "A-01-1", 1, None)]
    # and the card at packing and on the pick screen says the order goes on: never "do not pack"
    [card] = selectors.put_backs_open(floor.wh)
    assert (card.order_number, card.lines, card.goes_on) == (order.number, ["1 × TEE-WHT-M to bin A-01-1"], True)
    at_packing = render_to_string("warehouse/_put_backs.html", {"put_backs": [card]})
    assert "goes on without these units" in at_packing and "do not pack" not in at_packing
    on_the_walk = render_to_string("warehouse/_pick_put_backs.html", {"put_backs": [card], "pick_list": pick_list})
    assert "stays on this list" in on_the_walk and "cancelled" not in on_the_walk
    # Damrak goes on with the cap alone; the tees are routed again, to the Kalverstraat store
    fulfillment.refresh_from_db()
    assert (fulfillment.status, held(fulfillment)) == ("picking", {"CAP-RED": 1})
    assert live_locations(order) == ["ST1", "WH1"]
    assert held(order.fulfillments.get(location=floor.store)) == {"TEE-WHT-M": 2}
    # and the timeline says what happened at Damrak
    assert timeline(order, "fulfillment.lines_released") == [
        "2 x TEE-WHT-M no longer held here: a stock count found too few (count); off the pick walk; "
        "1 picked unit(s) to put back"]
    # the books: one tee at Damrak, none reserved; bins and ledger add up
    tees = level(floor.shirt, floor.wh)
    assert (tees.on_hand, tees.reserved) == (1, 0)
    assert in_bin(floor.bins["A-01-1"], floor.shirt) + in_bin(outbound(floor.wh), floor.shirt) == 1
    books_agree()

    # when the picker picks the cap, the walk is done and Damrak packs and ships the cap alone
    scan(cap_pick)
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked"
    assert PickList.objects.get(pk=pick_list.pk).status == "done"
    assert packing.units_to_pack(fulfillment) == {floor.cap.pk: 1}
    assert pack_all(fulfillment).status == "shipped"
    assert level(floor.cap, floor.wh).on_hand == 3
    books_agree()


def test_a_count_that_takes_the_last_line_left_to_pick_finishes_the_picking(
        floor, django_capture_on_commit_callbacks):
    # given a tee and a cap for Eva on a walk at Damrak, the cap already picked, the tee not
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    fulfillment, pick_list = on_a_walk(floor, order)
    scan(pick_list.tasks.get(sku=floor.cap))
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picking"

    # when a cycle count finds no tee at Damrak
    count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 0, django_capture_on_commit_callbacks)

    # then nothing is left to pick: the tote goes to packing with the cap, nothing to put back
    fulfillment.refresh_from_db()
    assert (fulfillment.status, held(fulfillment)) == ("picked", {"CAP-RED": 1})
    assert walk(pick_list) == []
    assert PickList.objects.get(pk=pick_list.pk).status == "done"
    assert PutBack.objects.count() == 0
    assert selectors.to_pack(floor.wh).get() == fulfillment
    assert timeline(order, "fulfillment.lines_released") == [
        "1 x TEE-WHT-M no longer held here: a stock count found too few (count); off the pick walk"]
    assert "ST1" in live_locations(order)  # the tee went to the store
    books_agree()
    assert pack_all(fulfillment).status == "shipped"
    books_agree()


def test_a_count_that_takes_one_line_of_an_accepted_tote_leaves_the_others_on_the_walk(
        floor, django_capture_on_commit_callbacks):
    # given a batch walk at Damrak: Eva's tee and cap, Ann's cap; nothing picked yet
    eva = place(floor, (floor.shirt, 1), (floor.cap, 1))
    ann = place(floor, (floor.cap, 1), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.wave_create(floor.wh, actor="ops:ops").pick_lists.get()

    # when a cycle count finds no tee at Damrak
    count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 0, django_capture_on_commit_callbacks)

    # then only Eva's tee left the walk: her cap and Ann's are still to pick, and her order waits
    assert walk(pick_list) == [("CAP-RED", 1), ("CAP-RED", 1)]
    eva_here = fulfillment_at(eva, floor.wh)
    assert (eva_here.status, held(eva_here)) == ("accepted", {"CAP-RED": 1})
    for task in pick_list.tasks.to_walk().order_by("sequence"):
        scan(task)
    assert {fulfillment_at(o, floor.wh).status for o in (eva, ann)} == {"picked"}
    assert PickList.objects.get(pk=pick_list.pk).status == "done"
    books_agree()


def test_a_line_that_keeps_some_units_has_its_picks_cut_down_to_them(floor):
    # given three tees for Eva on a walk at Damrak, two of them already in the tote
    order = place(floor, (floor.shirt, 3))
    fulfillment, pick_list = on_a_walk(floor, order)
    task = pick_list.tasks.get()
    scan(task, quantity=2)
    line_id = task.order_line_id

    # when the line keeps only one tee here (one of its reservations went)
    with transaction.atomic():
        done = putback.pick_lines_withdraw(fulfillment.pk, {line_id: 1}, actor="inventory")

    # then the third tee is no longer asked for, and one of the two picked goes back to its shelf
    assert (done.picks_cut, [(r.quantity, r.booked) for r in done.put_back], done.left_to_pick) == (1, [(1, 1)], False)
    assert sorted(PickTask.objects.filter(order_line_id=line_id).values_list("quantity", "picked", "status")) == [
        (1, 1, "cancelled"), (1, 1, "done")]
    assert walk(pick_list) == []
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (9, 1)
    # and calling it again changes nothing
    with transaction.atomic():
        again = putback.pick_lines_withdraw(fulfillment.pk, {line_id: 1}, actor="inventory")
    assert (again.picks_cut, again.put_back) == (0, [])
    assert PutBack.objects.count() == 1
    assert bin_violations() == []


# --- gap 2: units already picked are not the shelf's ------------------------------------------------


def test_a_count_releases_what_is_not_picked_yet_before_a_newer_order_already_picked(
        floor, django_capture_on_commit_callbacks):
    # given three tees for Ann waiting at Damrak, then two tees for Eva, picked already (newest)
    ann = place(floor, (floor.shirt, 3), email="ann@example.com", name="Ann")
    eva = place(floor, (floor.shirt, 2))
    eva_here = fulfillment_at(eva, floor.wh)
    pick_all(eva_here)
    assert eva_here.status == "picked"
    mark = last_movement_id()

    # when a cycle count finds four tees at Damrak (two on the shelf, Eva's two at packing)
    body = count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 4, django_capture_on_commit_callbacks)

    # then Ann's tees, not yet picked, are released and routed elsewhere; Eva's stay hers
    assert [r["quantity"] for r in body["released_reservations"]] == [3]
    assert fulfillment_at(eva, floor.wh) == eva_here
    eva_here.refresh_from_db()
    assert (eva_here.status, held(eva_here)) == ("picked", {"TEE-WHT-M": 2})
    assert "WH1" not in live_locations(ann)
    assert PutBack.objects.count() == 0
    tees = level(floor.shirt, floor.wh)
    assert (tees.on_hand, tees.reserved) == (4, 2)
    assert movements(floor.shirt, floor.wh, mark) == [("reserved", -3, "count"), ("on_hand", -6, "count")]
    books_agree()
    # and Eva's tees ship
    assert pack_all(eva_here).status == "shipped"
    assert (level(floor.shirt, floor.wh).on_hand, level(floor.shirt, floor.wh).reserved) == (2, 0)
    books_agree()


def test_a_count_below_the_units_already_picked_is_refused_and_changes_nothing(
        floor, django_capture_on_commit_callbacks):
    # given two tees for Eva ready for pickup at the Kalverstraat store (packed, on the shelf there)
    order = place(floor, (floor.shirt, 2), pickup=floor.store)
    here = fulfillment_at(order, floor.store)
    pick_all(here)
    assert pack_all(here).status == "ready_for_pickup"
    mark = last_movement_id()
    api = staff_api(floor.store, "api-st1")

    # when a count of the store's tees says one
    response = api.post("/api/v1/stock/count/", {"sku": floor.shirt.code, "location": floor.store.code,
                                                 "counted": 1, "note": "cycle count"}, format="json")

    # then it is refused: Eva's two tees are packed for her, not on the shelf that was counted
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "count_below_picked"
    assert "2 unit(s) of TEE-WHT-M are picked for orders" in response.json()["detail"]
    assert movements(floor.shirt, floor.store, mark) == []
    assert (level(floor.shirt, floor.store).on_hand, level(floor.shirt, floor.store).reserved) == (3, 2)

    # when the count says two (the shelf is empty), nothing of hers is released
    body = count(api, floor.shirt, floor.store, 2, django_capture_on_commit_callbacks)
    assert body["released_reservations"] == []
    here.refresh_from_db()
    assert (here.status, held(here)) == ("ready_for_pickup", {"TEE-WHT-M": 2})
    assert (level(floor.shirt, floor.store).on_hand, level(floor.shirt, floor.store).reserved) == (2, 2)
    books_agree()


def test_a_count_takes_units_picked_on_a_walk_as_found(floor):
    # given two tees for Ann waiting at Damrak, then one for Eva whose tote already holds it
    # (Eva's walk goes on: she also waits for a cap)
    ann = place(floor, (floor.shirt, 2), email="ann@example.com", name="Ann")
    eva = place(floor, (floor.shirt, 1), (floor.cap, 1))
    eva_here, pick_list = on_a_walk(floor, eva)
    scan(pick_list.tasks.get(sku=floor.shirt))
    tee = Reservation.objects.get(pk=Allocation.objects.get(fulfillment=eva_here, order_line__sku=floor.shirt)
                                  .reservation_id)

    # when a count finds two tees (one on the shelf, Eva's in her tote)
    with transaction.atomic():
        result = stock_count(level(floor.shirt, floor.wh), 2, actor="ops:count")

    # then Ann's reservation, nothing picked for it, goes; Eva's, picked, stays
    assert (result.picked, [r.quantity for r in result.released]) == (1, [2])
    assert Reservation.objects.get(pk=tee.pk).status == "open"
    assert fulfillment_at(ann, floor.wh).allocations.filter(is_active=True).exists()  # until the follow-up runs
    assert walk(pick_list) == [("CAP-RED", 1)]


# --- the follow-up when a count read the floor just before a pick committed --------------------------


def _count_blind_to_picks(monkeypatch, floor, counted: int) -> list[int]:
    """A count that did not see the picks (it read the floor just before they committed):
    its released reservations, the follow-up not yet run."""
    monkeypatch.setattr(inventory_stock, "UNITS_PICKED", [])
    with transaction.atomic():
        result = stock_count(level(floor.shirt, floor.wh), counted, actor="ops:count")
    return [r.pk for r in result.released]


def test_a_line_of_a_picked_tote_released_by_a_count_goes_back_and_the_rest_is_packed(floor, monkeypatch):
    # given two tees and a cap for Eva, all picked at Damrak
    order = place(floor, (floor.shirt, 2), (floor.cap, 1))
    here = fulfillment_at(order, floor.wh)
    pick_all(here)
    released = _count_blind_to_picks(monkeypatch, floor, 0)

    # when the count's follow-up runs
    with transaction.atomic():
        routed = allocations_released(released, reason="count", actor="inventory")

    # then the tees go back to their shelf (listed), the cap is packed and shipped alone
    assert routed == {order.pk}
    here.refresh_from_db()
    assert (here.status, held(here)) == ("picked", {"CAP-RED": 1})
    assert list(PutBack.objects.values_list("sku__code", "bin__code", "quantity")) == [("TEE-WHT-M", "A-01-1", 2)]
    assert timeline(order, "fulfillment.lines_released") == [
        "2 x TEE-WHT-M no longer held here: a stock count found too few (count); 2 picked unit(s) to put back"]
    assert packing.units_to_pack(here) == {floor.cap.pk: 1}
    books_agree()
    assert pack_all(here).status == "shipped"
    books_agree()


def test_a_picked_tote_left_with_nothing_by_a_count_is_cancelled_and_its_units_go_back(floor, monkeypatch):
    # given two tees for Eva, picked at Damrak
    order = place(floor, (floor.shirt, 2))
    here = fulfillment_at(order, floor.wh)
    pick_all(here)
    released = _count_blind_to_picks(monkeypatch, floor, 0)

    # when the count's follow-up runs
    with transaction.atomic():
        allocations_released(released, reason="count", actor="inventory")

    # then Damrak no longer has it: cancelled, its tees listed to put back, not waiting for packing
    here.refresh_from_db()
    assert here.status == "cancelled"
    assert list(PutBack.objects.values_list("sku__code", "quantity")) == [("TEE-WHT-M", 2)]
    assert not selectors.to_pack(floor.wh).exists()
    books_agree()


def test_a_count_that_fits_asks_the_floor_nothing(floor, monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(inventory_stock, "UNITS_PICKED", [lambda level, reservations: asked.append(1) or {}])
    place(floor, (floor.shirt, 2))
    with transaction.atomic():
        result = stock_count(level(floor.shirt, floor.wh), 5, actor="ops:count")
    assert (result.released, result.picked, asked) == ([], 0, [])


def test_a_stale_pick_screen_says_a_count_took_the_line(floor, django_capture_on_commit_callbacks):
    # given a tee and a cap on a walk at Damrak, the picker's screen showing the tee pick
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    _, pick_list = on_a_walk(floor, order)
    tee_pick = pick_list.tasks.get(sku=floor.shirt)
    picker = logged_in(floor.wh, "picker-wh1")
    assert f'value="{tee_pick.pk}"' in picker.get(f"/wms/pick/{pick_list.pk}/").content.decode()

    # when a count finds no tee at Damrak, and then the picker scans from that screen
    count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 0, django_capture_on_commit_callbacks)
    answer = picker.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "task": tee_pick.pk, "bin": "WH1-A-01-1",
                                                        "code": floor.shirt.barcode}, follow=True)

    # then the screen says why, records nothing, and shows the cap next
    page = answer.content.decode()
    assert "a stock count found too few TEE-WHT-M here" in page
    assert PickTask.objects.get(pk=tee_pick.pk).picked == 0
    assert walk(pick_list) == [("CAP-RED", 1)]
