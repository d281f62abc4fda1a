"""The bins follow stock changes made outside the floor as a warehouse worker would
(`warehouse.services.binstock.bins_follow_movements`, docs/adr/0005).

A count is a count of the shelves: what it finds missing comes off the storage bins, never
out of the packing bin while the shelves hold units, because the units in the packing bin
were scanned off the shelves for orders. The same for every other unit that leaves without
being picked (an adjustment, a till sale, a transfer sent); a damaged or QC unit written off
leaves quarantine or receiving; units found on a shelf go back to the SKU's shelf, units that
arrive wait in receiving (quarantine when damaged). Only a ship or a handover takes units out
of the packing bin first."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from inventory.services import (
    TransferLineInput,
    pos_sale,
    stock_adjust,
    stock_count,
    stock_move_state,
    stock_receive,
    stock_set,
    transfer_receive,
    transfer_request,
    transfer_ship,
)
from orders import services as order_services
from orders.models import Order
from tests.warehouse.floor_flow import books_agree, on_a_walk, outbound, pack_all, pick_all, scan
from tests.warehouse.floor_setup import fulfillment_at, in_bin, level, place, special
from tests.warehouse.test_count_releases_tote import count, staff_api
from warehouse.models import PickTask, PutBack
from warehouse.services import binstock, picking

pytestmark = pytest.mark.django_db

ODD = "packing bin held"  # what a put-back logs when the books moved its units away meanwhile


@pytest.fixture
def put_back_log(caplog):
    caplog.set_level(logging.WARNING, logger="warehouse.services.putback")
    return caplog



def tees(floor, *codes: str) -> dict[str, int]:
    """Tees per bin at Damrak (storage bins by code, PACK, RECV, QUAR)."""
    found = {code: in_bin(floor.bins[code], floor.shirt) for code in codes}
    found.update({kind: in_bin(special(floor.wh, kind), floor.shirt) for kind in ("outbound", "receiving",
                                                                                   "quarantine")})
    return found




def cancel(order: Order) -> None:
    with transaction.atomic():
        order_services.order_cancel(Order.objects.select_for_update().get(pk=order.pk), actor="channel:web",
                                    reason="changed my mind")


def counted(floor, units: int, sku=None, location=None) -> None:
    with transaction.atomic():
        stock_count(level(sku or floor.shirt, location or floor.wh), units, actor="ops:count", note="cycle count")


# --- a count during picking --------------------------------------------------------------------------


def test_a_count_of_the_shelf_leaves_the_picked_unit_in_the_packing_bin_and_it_goes_back_right(
        floor, put_back_log):
    # given a tee and a cap for Eva on a walk at Damrak, the tee already in her tote
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    _, pick_list = on_a_walk(floor, order)
    scan(pick_list.tasks.get(sku=floor.shirt))
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 1, "receiving": 0, "quarantine": 0}

    # when a count finds five tees at Damrak (four on the shelf, Eva's in the tote)
    counted(floor, 5)

    # then the five missing tees came off the shelf; the packing bin still holds Eva's
    assert tees(floor, "A-01-1") == {"A-01-1": 4, "outbound": 1, "receiving": 0, "quarantine": 0}
    assert (level(floor.shirt, floor.wh).on_hand, level(floor.shirt, floor.wh).reserved) == (5, 1)
    books_agree()

    # when Eva cancels, her tee goes back on its shelf, in the books too, and nothing odd is logged
    cancel(order)
    assert list(PutBack.objects.filter(sku=floor.shirt).values_list("bin__code", "quantity", "booked")) == [
        ("A-01-1", 1, 1)]
    assert tees(floor, "A-01-1") == {"A-01-1": 5, "outbound": 0, "receiving": 0, "quarantine": 0}
    assert ODD not in put_back_log.text
    books_agree()


def test_a_count_that_takes_a_partly_picked_line_books_its_picked_unit_back_from_the_packing_bin(
        floor, django_capture_on_commit_callbacks, put_back_log):
    # given two tees for Eva on a walk at Damrak, one in the tote
    order = place(floor, (floor.shirt, 2))
    _, pick_list = on_a_walk(floor, order)
    scan(pick_list.tasks.get())

    # when a cycle count through the staff API finds one tee (the one in the tote: the shelf is empty)
    count(staff_api(floor.wh, "api-wh1"), floor.shirt, floor.wh, 1, django_capture_on_commit_callbacks)

    # then the shelf was emptied in the books, and the tee in the tote, which the count's
    # follow-up takes off the walk, is booked back from the packing bin onto the shelf
    assert list(PutBack.objects.values_list("sku__code", "bin__code", "quantity", "booked")) == [
        ("TEE-WHT-M", "A-01-1", 1, 1)]
    assert tees(floor, "A-01-1") == {"A-01-1": 1, "outbound": 0, "receiving": 0, "quarantine": 0}
    assert ODD not in put_back_log.text
    books_agree()


def test_a_count_leaves_an_open_pick_its_units_and_takes_the_rest_from_the_end_of_the_walk(floor):
    # given a walk for two of Eva's tees sent to A-02-1 (the middle of the walk), then Damrak's
    # other tees re-slotted: 2 in A-01-1 (start of the walk), 6 in A-04-1 (end)
    with transaction.atomic(), binstock.floor_books_bins():
        binstock.bin_move(floor.bins["A-01-1"].pk, floor.bins["A-02-1"].pk, floor.shirt.pk, 10)
    order = place(floor, (floor.shirt, 2))
    fulfillment, pick_list = on_a_walk(floor, order)
    assert list(pick_list.tasks.values_list("bin__code", "quantity")) == [("A-02-1", 2)]
    with transaction.atomic(), binstock.floor_books_bins():
        binstock.bin_move(floor.bins["A-02-1"].pk, floor.bins["A-01-1"].pk, floor.shirt.pk, 2)
        binstock.bin_move(floor.bins["A-02-1"].pk, floor.bins["A-04-1"].pk, floor.shirt.pk, 6)

    # when a count finds two tees at Damrak
    counted(floor, 2)

    # then the eight missing came from the units no pick is sent for (end of the walk first):
    # the two Eva's pick goes to A-02-1 for are still there, and she gets them
    assert tees(floor, "A-01-1", "A-02-1", "A-04-1") == {"A-01-1": 0, "A-02-1": 2, "A-04-1": 0, "outbound": 0,
                                                         "receiving": 0, "quarantine": 0}
    books_agree()
    scan(pick_list.tasks.get(), quantity=2)
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked"
    assert tees(floor, "A-02-1")["outbound"] == 2
    books_agree()


def test_a_count_takes_the_shelf_from_the_end_of_the_walk_first(floor):
    # given Damrak's tees on two shelves: 4 in A-01-1, 6 in A-04-1; no pick on a walk
    with transaction.atomic(), binstock.floor_books_bins():
        binstock.bin_move(floor.bins["A-01-1"].pk, floor.bins["A-04-1"].pk, floor.shirt.pk, 6)

    # when a count finds seven
    counted(floor, 7)

    # then the three missing came off A-04-1, the bin the pickers reach last
    assert tees(floor, "A-01-1", "A-04-1") == {"A-01-1": 4, "A-04-1": 3, "outbound": 0, "receiving": 0,
                                               "quarantine": 0}
    books_agree()


def test_a_count_takes_from_the_packing_bin_only_what_the_shelves_cannot_cover(floor):
    # given three tees for Eva, all picked at Damrak (seven left on the shelf), the shelf then
    # found to hold two fewer than its books say (booked to the packing bin by mistake)
    order = place(floor, (floor.shirt, 3))
    pick_all(fulfillment_at(order, floor.wh))
    with transaction.atomic(), binstock.floor_books_bins():
        binstock.bin_move(floor.bins["A-01-1"].pk, outbound(floor.wh).pk, floor.shirt.pk, 2)

    # when a count finds Eva's three tees and nothing else
    counted(floor, 3)

    # then the shelf is empty and the packing bin gives up only the two the shelf could not cover
    assert tees(floor, "A-01-1") == {"A-01-1": 0, "outbound": 3, "receiving": 0, "quarantine": 0}
    books_agree()


def test_a_count_keeps_the_damaged_units_it_found_in_quarantine_and_drops_those_it_did_not(floor):
    # given a damaged tee received at Damrak (in quarantine) next to the ten on the shelf
    with transaction.atomic():
        stock_receive(sku=floor.shirt, location=floor.wh, quantity=1, into="damaged", actor="ops")
    assert tees(floor, "A-01-1")["quarantine"] == 1

    # when a count finds one tee (the damaged one), then none
    counted(floor, 1)
    assert tees(floor, "A-01-1") == {"A-01-1": 0, "outbound": 0, "receiving": 0, "quarantine": 1}
    books_agree()
    counted(floor, 0)
    assert tees(floor, "A-01-1") == {"A-01-1": 0, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()


def test_a_count_that_finds_more_puts_them_on_the_skus_shelf_where_a_pick_finds_them(floor):
    # given Damrak's ten tees on A-01-1
    # when a count finds twelve
    counted(floor, 12)

    # then the two found are on the tees' shelf, not waiting at the receiving dock
    assert tees(floor, "A-01-1") == {"A-01-1": 12, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()
    # and an order for all twelve is picked from there
    order = place(floor, (floor.shirt, 12))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    assert fulfillment.status == "picked"
    assert tees(floor, "A-01-1") == {"A-01-1": 0, "outbound": 12, "receiving": 0, "quarantine": 0}
    books_agree()


def test_a_compare_and_set_of_on_hand_is_a_count_too(floor):
    order = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(order, floor.wh))
    with transaction.atomic():
        stock_set(level(floor.shirt, floor.wh), "on_hand", expected=10, value=4, actor="erp")
    assert tees(floor, "A-01-1") == {"A-01-1": 3, "outbound": 1, "receiving": 0, "quarantine": 0}
    books_agree()
    assert pack_all(fulfillment_at(order, floor.wh)).status == "shipped"
    assert tees(floor, "A-01-1") == {"A-01-1": 3, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()


# --- the other changes made outside the floor ----------------------------------------------------------


def test_an_adjustment_after_picking_takes_the_shelf_and_the_put_back_lands_right(floor, put_back_log):
    # given a tee and a cap for Eva, picked at Damrak
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    pick_all(fulfillment_at(order, floor.wh))

    # when ops write a tee off as lost
    with transaction.atomic():
        stock_adjust(stock_level=level(floor.shirt, floor.wh), delta=-1, reason="lost", actor="ops:ops")

    # then it came off the shelf, and Eva's cancelled tee goes back there, in full
    assert tees(floor, "A-01-1") == {"A-01-1": 8, "outbound": 1, "receiving": 0, "quarantine": 0}
    cancel(order)
    assert sorted(PutBack.objects.values_list("sku__code", "bin__code", "quantity", "booked")) == [
        ("CAP-RED", "A-02-1", 1, 1), ("TEE-WHT-M", "A-01-1", 1, 1)]
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 0, "receiving": 0, "quarantine": 0}
    assert ODD not in put_back_log.text
    books_agree()


def test_units_found_or_corrected_go_to_the_shelf_an_unexplained_rise_waits_in_receiving(floor):
    with transaction.atomic():
        stock_adjust(stock_level=level(floor.shirt, floor.wh), delta=2, reason="found", actor="ops")
        stock_adjust(stock_level=level(floor.shirt, floor.wh), delta=1, reason="correction", actor="ops")
        stock_adjust(stock_level=level(floor.shirt, floor.wh), delta=1, reason="other", note="pallet",
                     actor="ops")
    assert tees(floor, "A-01-1") == {"A-01-1": 13, "outbound": 0, "receiving": 1, "quarantine": 0}
    books_agree()


def test_a_till_sale_leaves_the_pickup_shelf_alone(floor):
    # given two tees for Eva ready for pickup at the Kalverstraat store (its third on shelf S-02)
    order = place(floor, (floor.shirt, 2), pickup=floor.store)
    here = fulfillment_at(order, floor.store)
    pick_all(here)
    assert pack_all(here).status == "ready_for_pickup"

    # when the store sells its last free tee at the till
    with transaction.atomic():
        pos_sale(floor.store, [(floor.shirt, 1)], "till-1-0001", actor="pos")

    # then it left shelf S-02; Eva's two wait for her on the pickup shelf, and she collects them
    pickup_shelf = outbound(floor.store)
    assert (in_bin(floor.bins["S-02"], floor.shirt), in_bin(pickup_shelf, floor.shirt)) == (0, 2)
    books_agree()
    here.refresh_from_db()
    with transaction.atomic():
        order_services.fulfillment_collect(here.pk, code=here.pickup_code, actor="api")
    assert in_bin(pickup_shelf, floor.shirt) == 0
    books_agree()


def test_a_transfer_leaves_from_the_shelf_and_arrives_at_the_dock(floor):
    # given a tee for Eva picked at Damrak
    order = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(order, floor.wh))

    # when Damrak sends three tees to the store, and receives two from Schiphol, through the API
    with transaction.atomic():
        out = transfer_request(floor.wh, floor.store, [TransferLineInput(floor.shirt, 3)], actor="ops")
        transfer_ship(out, actor="ops")
        inbound = transfer_request(floor.wh2, floor.wh, [TransferLineInput(floor.shirt, 2)], actor="ops")
        transfer_ship(inbound, actor="ops")
        transfer_receive(inbound, {floor.shirt.code: 2}, actor="ops")

    # then the three left the shelf (Eva's stays at packing) and the two wait for putaway
    assert tees(floor, "A-01-1") == {"A-01-1": 6, "outbound": 1, "receiving": 2, "quarantine": 0}
    books_agree()


def test_damaged_and_qc_units_arrive_in_quarantine_and_receiving_and_are_written_off_from_there(floor):
    # given a tee for Eva picked at Damrak
    order = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(order, floor.wh))

    # when two damaged tees and one for quality control arrive through the API
    with transaction.atomic():
        stock_receive(sku=floor.shirt, location=floor.wh, quantity=2, into="damaged", actor="ops")
        stock_receive(sku=floor.shirt, location=floor.wh, quantity=1, into="quality_control", actor="ops")
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 1, "receiving": 1, "quarantine": 2}
    books_agree()

    # when a damaged tee and the QC tee are written off
    with transaction.atomic():
        stock_move_state(level(floor.shirt, floor.wh), "damaged", "written_off", 1, "scrapped", actor="ops")
        stock_move_state(level(floor.shirt, floor.wh), "quality_control", "written_off", 1, "qc_failed", actor="ops")

    # then they leave quarantine and receiving: the shelf and the packing bin keep theirs
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 1, "receiving": 0, "quarantine": 1}
    books_agree()


def test_a_ship_through_the_api_takes_the_picked_units_from_the_packing_bin(floor):
    # given a tee for Eva picked at Damrak
    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)

    # when it is packed and shipped through orders' services, not the packing screen
    with transaction.atomic():
        locked = order_services.fulfillment_lock(fulfillment.pk)
        order_services.fulfillment_pack(locked, packages=[order_services.PackageInput(weight_grams=300)],
                                        actor="api")
        order_services.fulfillment_ship(locked, actor="api")

    # then the tee left the packing bin; the shelf keeps its nine
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()


def test_a_ship_through_the_api_of_units_never_picked_on_the_floor_takes_the_shelf_not_anothers_packed_unit(floor):
    # given Eva's tee picked at Damrak: it waits in the packing bin for her box
    eva = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(eva, floor.wh))
    assert tees(floor, "A-01-1") == {"A-01-1": 9, "outbound": 1, "receiving": 0, "quarantine": 0}

    # when Sam's tee is accepted, picked, packed and shipped through the API, not on the floor
    sam = place(floor, (floor.shirt, 1), email="sam@example.com")
    fulfillment = fulfillment_at(sam, floor.wh)
    with transaction.atomic():
        locked = order_services.fulfillment_lock(fulfillment.pk)
        order_services.fulfillment_accept(locked, actor="api")
        order_services.fulfillment_start_picking(locked, actor="api")
        order_services.fulfillment_mark_picked(locked, actor="api")
        order_services.fulfillment_pack(locked, packages=[order_services.PackageInput(weight_grams=300)],
                                        actor="api")
        order_services.fulfillment_ship(locked, actor="api")

    # then Sam's tee came off the shelf; Eva's is still in the packing bin
    assert tees(floor, "A-01-1") == {"A-01-1": 8, "outbound": 1, "receiving": 0, "quarantine": 0}
    books_agree()
    # and Eva's box packs and ships from it
    pack_all(fulfillment_at(eva, floor.wh))
    assert tees(floor, "A-01-1") == {"A-01-1": 8, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()


def test_the_bins_know_how_orders_reference_their_reservations():
    from orders.services.allocation import RESERVATION_REFERENCE

    assert binstock.ORDER_LINE == RESERVATION_REFERENCE


def test_a_put_back_the_books_moved_away_meanwhile_says_so_and_still_adds_up(floor, put_back_log):
    # given a tee for Eva picked at Damrak, then booked from the packing bin to the shelf by mistake
    order = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(order, floor.wh))
    with transaction.atomic(), binstock.floor_books_bins():
        binstock.bin_move(outbound(floor.wh).pk, floor.bins["A-01-1"].pk, floor.shirt.pk, 1)

    # when Eva cancels
    cancel(order)

    # then the put-back is listed, books nothing more, and the log says why
    assert list(PutBack.objects.values_list("bin__code", "quantity", "booked")) == [("A-01-1", 1, 0)]
    assert ODD in put_back_log.text
    assert tees(floor, "A-01-1") == {"A-01-1": 10, "outbound": 0, "receiving": 0, "quarantine": 0}
    books_agree()


def test_a_short_pick_whose_bin_the_books_emptied_takes_another_shelf_not_a_tote(floor):
    # given Ann's tee on a walk at A-01-1, and Eva's tee already picked (in the packing bin)
    ann = place(floor, (floor.shirt, 1), email="ann@example.com", name="Ann")
    _, pick_list = on_a_walk(floor, ann)
    eva = place(floor, (floor.shirt, 1))
    pick_all(fulfillment_at(eva, floor.wh))
    assert tees(floor, "A-01-1", "A-04-1")["outbound"] == 1
    # and the books moved A-01-1's tees to A-04-1 meanwhile (a restock the picker did not see)
    with transaction.atomic():
        binstock.bin_move(floor.bins["A-01-1"].pk, floor.bins["A-04-1"].pk, floor.shirt.pk, 9)

    # when the picker finds no tee at A-01-1
    with transaction.atomic():
        picking.pick_short(pick_list.tasks.get(sku=floor.shirt), reason="not_found", actor="picker:p")

    # then the lost tee comes off the other shelf; Eva's tee stays in the packing bin
    assert tees(floor, "A-01-1", "A-04-1") == {"A-01-1": 0, "A-04-1": 8, "outbound": 1, "receiving": 0,
                                               "quarantine": 0}
    assert level(floor.shirt, floor.wh).on_hand == 9
    books_agree()


# --- units that change state without leaving ----------------------------------------------------------


def move_state(floor, from_state: str, to_state: str, quantity: int) -> None:
    with transaction.atomic():
        stock_move_state(level(floor.shirt, floor.wh), from_state, to_state, quantity, "damaged_in_store",
                         actor="ops:ops")


def test_units_marked_damaged_go_to_quarantine_so_no_pick_is_sent_for_them(floor):
    # when ops mark 2 of Damrak's 10 tees damaged
    move_state(floor, "available", "damaged", 2)

    # then the books move them off the shelf into quarantine
    assert tees(floor, "A-01-1") == {"A-01-1": 8, "outbound": 0, "receiving": 0, "quarantine": 2}
    books_agree()
    # and an order for 8 tees is picked from the shelf in full, nobody is sent for a damaged one
    order = place(floor, (floor.shirt, 8))
    pick_all(fulfillment_at(order, floor.wh))
    assert tees(floor, "A-01-1") == {"A-01-1": 0, "outbound": 8, "receiving": 0, "quarantine": 2}
    assert not PickTask.objects.filter(short__gt=0).exists()
    books_agree()


def test_units_held_for_a_check_and_released_follow_the_worker(floor):
    move_state(floor, "available", "quality_control", 3)  # held for a check: to the receiving dock
    assert tees(floor, "A-01-1") == {"A-01-1": 7, "outbound": 0, "receiving": 3, "quarantine": 0}
    move_state(floor, "quality_control", "damaged", 1)  # the check finds one damaged
    assert tees(floor, "A-01-1") == {"A-01-1": 7, "outbound": 0, "receiving": 2, "quarantine": 1}
    move_state(floor, "damaged", "available", 1)  # repaired after all: waits for putaway
    assert tees(floor, "A-01-1") == {"A-01-1": 7, "outbound": 0, "receiving": 3, "quarantine": 0}
    move_state(floor, "quality_control", "available", 2)  # released: stays on the dock for putaway
    assert tees(floor, "A-01-1") == {"A-01-1": 7, "outbound": 0, "receiving": 3, "quarantine": 0}
    books_agree()
