"""A fulfillment its location rejects while it is on a pick list leaves that location's
picking: the pick lists screen, the pick screen, the home count and the staff API show only
the orders still to pick there, and the walk finishes without it."""

from __future__ import annotations

import pytest
from django.db import transaction

from channels_sync.tokens import token_issue
from orders.models import Order
from tests import factories
from tests.conftest import client_with_token
from tests.warehouse.floor_flow import outbound
from tests.warehouse.floor_setup import fulfillment_at, in_bin, place
from tests.warehouse.test_floor_web import logged_in
from warehouse import selectors
from warehouse.checks import bin_violations
from warehouse.models import PickList
from warehouse.services import picking

pytestmark = pytest.mark.django_db


def staff_api(location, username: str):
    member = factories.StaffFactory(user__username=username, role="picker", location=location)
    return client_with_token(token_issue(name=username, user=member.user)[1])


def three_on_one_list(floor) -> tuple[Order, Order, Order, PickList]:
    """A tee, a cap and a shoe for three customers, released as one batch walk at Damrak."""
    tee = place(floor, (floor.shirt, 1))
    cap = place(floor, (floor.cap, 1), email="ann@example.com", name="Ann")
    shoe = place(floor, (floor.shoe, 1), email="bob@example.com", name="Bob")
    with transaction.atomic():
        wave = picking.wave_create(floor.wh, actor="ops:ops")
    return tee, cap, shoe, wave.pick_lists.get()


def test_an_order_rejected_on_a_pick_list_is_on_none_of_the_pickers_lists(floor):
    tee, cap, shoe, pick_list = three_on_one_list(floor)
    api = staff_api(floor.wh, "api-wh1")

    # when Damrak's staff reject the tee's fulfillment (no hands today), before anything is picked
    response = api.post(f"/api/v1/fulfillments/{fulfillment_at(tee, floor.wh).pk}/reject/",
                        {"reason": "capacity", "note": "two pickers ill"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"

    # then the pick lists screen counts two orders and two picks on the list
    picker = logged_in(floor.wh, "picker-wh1")
    lists = picker.get("/wms/pick/").content.decode()
    assert f"{pick_list.number} · 2 orders · 2 picks left" in lists
    assert tee.number not in lists
    # the pick screen starts at the cap, not at the rejected tee
    page = picker.get(f"/wms/pick/{pick_list.pk}/").content.decode()
    assert "pick 1 of 2" in page and "A-02-1" in page and cap.number in page
    assert tee.number not in page and "TEE-WHT-M" not in page
    # the staff API's pick list has no task for it
    body = api.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()
    assert [(t["bin"], t["sku"], t["status"]) for t in body["tasks"]] == [
        ("A-02-1", "CAP-RED", "open"), ("A-03-2", "RUN-BLK-42", "open")]

    # and the walk finishes with the two others: the list and its wave are done, no list is left
    for bin_code, sku in [("WH1-A-02-1", floor.cap), ("WH1-A-03-2", floor.shoe)]:
        assert picker.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": bin_code,
                                                          "code": sku.barcode}).status_code == 302
    done = picker.get(f"/wms/pick/{pick_list.pk}/").content.decode()
    assert f"Pick list {pick_list.number} done" in done
    pick_list.refresh_from_db()
    assert (pick_list.status, pick_list.wave.status) == ("done", "done")
    assert "No pick list open." in picker.get("/wms/pick/").content.decode()
    assert selectors.home_counts(floor.wh).pick_lists == 0
    assert {fulfillment_at(o, floor.wh).status for o in (cap, shoe)} == {"picked"}
    # nothing of the tee moved at Damrak
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (10, 0)
    assert bin_violations() == []


def test_a_store_list_whose_only_order_is_rejected_leaves_the_screens(floor):
    order = place(floor, (floor.shoe, 1), pickup=floor.store, email="sam@example.com", name="Sam")
    fulfillment = fulfillment_at(order, floor.store)
    clerk = logged_in(floor.store, "clerk-st1")
    started = clerk.post("/wms/pick/", {"fulfillment": fulfillment.pk})  # "Start picking" on the waiting order
    pick_list = PickList.objects.get()
    assert started["Location"] == f"/wms/pick/{pick_list.pk}/"
    assert selectors.home_counts(floor.store).pick_lists == 1

    # the clerk finds the shelf empty and rejects it through the staff API
    api = staff_api(floor.store, "api-st1")
    response = api.post(f"/api/v1/fulfillments/{fulfillment.pk}/reject/", {"reason": "damaged"}, format="json")
    assert response.status_code == 200

    assert selectors.home_counts(floor.store).pick_lists == 0
    lists = clerk.get("/wms/pick/").content.decode()
    assert "No pick list open." in lists and order.number not in lists
    assert "0 orders" not in lists
    page = clerk.get(f"/wms/pick/{pick_list.pk}/").content.decode()
    assert f"Pick list {pick_list.number} done" in page and "RUN-BLK-42" not in page
    assert api.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()["tasks"] == []
    assert bin_violations() == []


def test_a_scan_posted_for_a_pick_whose_order_left_the_list_records_nothing(floor):
    """The picker's screen still shows the rejected order's tee when the scan arrives: it is
    not booked onto the next pick (another order's tee from the same bin)."""
    tee = place(floor, (floor.shirt, 1))
    other = place(floor, (floor.shirt, 2), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.wave_create(floor.wh, actor="ops:ops").pick_lists.get()
    first, second = pick_list.tasks.order_by("sequence")
    assert first.tote.fulfillment.order_id == tee.pk and second.tote.fulfillment.order_id == other.pk
    picker = logged_in(floor.wh, "picker-wh1")
    page = f"/wms/pick/{pick_list.pk}/"
    assert f'name="task" value="{first.pk}"' in picker.get(page).content.decode()  # the pick it shows

    with transaction.atomic():
        from orders.services import fulfillment_lock, fulfillment_reject
        fulfillment_reject(fulfillment_lock(fulfillment_at(tee, floor.wh).pk), reason="capacity", actor="ops:ops")
    response = picker.post(page, {"step": "item", "bin": "WH1-A-01-1", "code": floor.shirt.barcode,
                                  "task": first.pk}, follow=True)

    assert response.status_code == 200
    second.refresh_from_db()
    assert second.picked == 0
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (10, 0)
    assert "pick 1 of 1" in response.content.decode() and other.number in response.content.decode()
