"""A stock count that finds fewer units than were promised releases the newest reservations;
a fulfillment left with nothing (still to pick, or on its pick walk) is cancelled and its
order routed again. Its tote leaves the walk at once, as for a rejection or a cancel
(docs/adr/0005): its open tasks close, units already picked are listed to put back at the
packing station, and a pick list left with nothing to pick is done. This happens right after
the count commits (its `inventory.reservations_released` event): the count locks the stock
level before it knows whose units are gone, and the order comes first in the lock order."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from channels_sync.tokens import token_issue
from inventory.checks import inventory_violations
from inventory.services import stock_count
from omnichannel import outbox
from omnichannel.models import OutboxEvent
from orders.models import Fulfillment, Order
from orders.services.reroute import allocations_released
from tests import factories
from tests.conftest import (
    client_with_token,
    requires_postgres,
    run_jobs_together,
    wait_until_another_waits_on_a_lock,
)
from tests.warehouse.floor_flow import outbound
from tests.warehouse.floor_setup import build_floor, fulfillment_at, in_bin, level, place
from tests.warehouse.test_floor_web import logged_in
from warehouse import selectors
from warehouse import services as warehouse_services
from warehouse.checks import bin_violations
from warehouse.errors import NotReady
from warehouse.models import PickList, PickTask, PutBack
from warehouse.services import picking


def staff_api(location, username: str):
    member = factories.StaffFactory(user__username=username, role="picker", location=location)
    return client_with_token(token_issue(name=username, user=member.user)[1])


def count(api, sku, location, counted: int, capture) -> dict:
    """A cycle count through the staff API; what runs after its commit runs too."""
    with capture(execute=True):
        response = api.post("/api/v1/stock/count/", {"sku": sku.code, "location": location.code,
                                                      "counted": counted, "note": "cycle count"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def live_locations(order: Order) -> list[str]:
    return sorted(order.fulfillments.exclude(status__in=["rejected", "cancelled"])
                  .values_list("location__code", flat=True))


@pytest.mark.django_db
def test_a_count_that_takes_an_accepted_orders_units_takes_its_tote_off_the_walk(
        floor, django_capture_on_commit_callbacks):
    # given a tee, a cap and a shoe for three customers on one batch walk at Damrak
    tee = place(floor, (floor.shirt, 1))
    cap = place(floor, (floor.cap, 1), email="ann@example.com", name="Ann")
    shoe = place(floor, (floor.shoe, 1), email="bob@example.com", name="Bob")
    with transaction.atomic():
        pick_list = picking.wave_create(floor.wh, actor="ops:ops").pick_lists.get()
    tee_at_damrak = fulfillment_at(tee, floor.wh)
    assert tee_at_damrak.status == "accepted"
    api = staff_api(floor.wh, "api-wh1")

    # when a cycle count finds no tee at Damrak
    body = count(api, floor.shirt, floor.wh, 0, django_capture_on_commit_callbacks)

    # then the tee's order goes elsewhere, and its tote is off the walk for good: its pick is
    # closed, nothing was picked so nothing is to put back, the list waits for the two others
    assert [r["reference_type"] for r in body["released_reservations"]] == ["order_line"]
    tee_at_damrak.refresh_from_db()
    assert tee_at_damrak.status == "cancelled"
    assert live_locations(tee) == ["ST1"]  # the Kalverstraat store has tees
    assert list(PickTask.objects.filter(tote__fulfillment=tee_at_damrak).values_list("status", flat=True)) == [
        "cancelled"]
    assert PutBack.objects.count() == 0
    listed = api.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()
    assert listed["status"] == "open"
    assert [(t["sku"], t["status"]) for t in listed["tasks"]] == [("CAP-RED", "open"), ("RUN-BLK-42", "open")]

    # and once the cap and the shoe are picked the list and its wave are done
    picker = logged_in(floor.wh, "picker-wh1")
    for bin_code, sku in [("WH1-A-02-1", floor.cap), ("WH1-A-03-2", floor.shoe)]:
        assert picker.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": bin_code,
                                                          "code": sku.barcode}).status_code == 302
    assert api.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()["status"] == "done"
    pick_list.refresh_from_db()
    assert pick_list.wave.status == "done"
    assert {fulfillment_at(o, floor.wh).status for o in (cap, shoe)} == {"picked"}
    assert bin_violations() == []


@pytest.mark.django_db
def test_a_count_that_takes_every_unit_of_a_tote_being_picked_lists_them_to_put_back_and_closes_the_list(
        floor, django_capture_on_commit_callbacks):
    # given two tees for one customer, the only order on a walk at Damrak, one tee in the tote
    order = place(floor, (floor.shirt, 2))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    task = pick_list.tasks.get()
    with transaction.atomic():
        picking.pick_scan(task, bin_code=task.bin.barcode, item_code=floor.shirt.barcode, actor="picker:p")
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picking"
    api = staff_api(floor.wh, "api-wh1")

    # when a cycle count finds one tee at Damrak (fewer than the two promised)
    count(api, floor.shirt, floor.wh, 1, django_capture_on_commit_callbacks)

    # then Damrak no longer picks the order, which went elsewhere for both tees: not picked twice
    fulfillment.refresh_from_db()
    assert fulfillment.status == "cancelled"
    assert live_locations(order) != [] and "WH1" not in live_locations(order)
    # the tote is off the walk, the list is done and on nobody's screen
    assert PickTask.objects.get(pk=task.pk).status == "cancelled"
    assert api.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()["status"] == "done"
    packer = logged_in(floor.wh, "packer-wh1")
    assert "No pick list open." in packer.get("/wms/pick/").content.decode()
    # and the tee already picked is listed to put back, at the packing station, until someone does
    assert list(PutBack.objects.values_list("sku__code", "bin__code", "quantity", "done_at")) == [
        ("TEE-WHT-M", "A-01-1", 1, None)]
    assert selectors.home_counts(floor.wh).put_backs == 1
    station = packer.get("/wms/pack/").content.decode()
    assert f"Order {order.number} was cancelled" in station and "Put back 1 × TEE-WHT-M to bin A-01-1" in station
    # the books agree with the count, bin by bin
    assert level(floor.shirt, floor.wh).on_hand == 1
    assert in_bin(floor.bins["A-01-1"], floor.shirt) + in_bin(outbound(floor.wh), floor.shirt) == 1
    assert bin_violations() == []
    assert inventory_violations() == []


# --- Postgres: the count's follow-up and a pick on the same tote, at the same moment ----------------


def _one_tee_order_counted_away(monkeypatch) -> tuple[object, Order, Fulfillment, PickTask, list[int]]:
    """Two tees on a walk at Damrak, nothing picked yet; a count of one tee committed, its
    follow-up (what its event runs) not yet run. Returns the floor, the order, its
    fulfillment, the pick and the released reservations."""
    floor = build_floor()
    order = place(floor, (floor.shirt, 2))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    monkeypatch.setattr(outbox, "_enqueue_dispatch_many", lambda ids: None)  # the follow-up runs in the test
    with transaction.atomic():
        stock_count(level(floor.shirt, floor.wh), 1, actor="ops:count")
    released = [r["id"] for r in OutboxEvent.objects.get(type="inventory.reservations_released")
                .payload["reservations"]]
    return floor, order, fulfillment, pick_list.tasks.get(), released


def _follow_up(released: list[int]) -> set[int]:
    return allocations_released(released, reason="count", actor="inventory")


def _pick(task: PickTask) -> PickTask:
    return picking.pick_scan(task, bin_code=task.bin.barcode, item_code=task.sku.barcode, actor="picker:p")


def _pick_first_then_follow_up(monkeypatch, task: PickTask, released: list[int]) -> tuple[object, object, list[bool]]:
    """A scan of `task` holds the order (its unit in the tote, uncommitted) while the count's
    follow-up starts. Returns the pick's result, the follow-up's, and whether the pick saw the
    follow-up wait on a lock."""
    scanned = threading.Event()
    waited: list[bool] = []
    real_move = picking.bin_move

    def move_then_wait_for_the_follow_up(*args, **kwargs):
        real_move(*args, **kwargs)
        scanned.set()
        waited.append(wait_until_another_waits_on_a_lock())

    monkeypatch.setattr(picking, "bin_move", move_then_wait_for_the_follow_up)

    def follow_up() -> set[int]:
        assert scanned.wait(10)
        return _follow_up(released)

    picked, routed = run_jobs_together([lambda: _pick(task), follow_up])
    return picked, routed, waited


def _follow_up_first_then_pick(monkeypatch, owner, withdraw: str, task: PickTask,
                               released: list[int]) -> tuple[object, object, list[bool]]:
    """The count's follow-up takes the work off the walk (`owner.<withdraw>`) and holds the
    order while a scan of `task` starts. Returns the pick's result, the follow-up's, and
    whether the follow-up saw the pick wait on a lock."""
    withdrawn = threading.Event()
    waited: list[bool] = []
    real_withdraw = getattr(owner, withdraw)

    def withdraw_then_wait_for_the_pick(*args, **kwargs):
        done = real_withdraw(*args, **kwargs)
        withdrawn.set()
        waited.append(wait_until_another_waits_on_a_lock())
        return done

    monkeypatch.setattr(owner, withdraw, withdraw_then_wait_for_the_pick)

    def pick() -> PickTask:
        assert withdrawn.wait(10)
        return _pick(task)

    routed, picked = run_jobs_together([lambda: _follow_up(released), pick])
    return picked, routed, waited


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_first_pick_holding_the_order_makes_the_counts_follow_up_wait_then_its_unit_goes_back(monkeypatch):
    floor, order, fulfillment, task, released = _one_tee_order_counted_away(monkeypatch)
    picked, routed, waited = _pick_first_then_follow_up(monkeypatch, task, released)

    # the follow-up waited for the pick (the order's lock), then saw the fulfillment picking and
    # nothing left in it: cancelled, the tote off the walk, the picked tee listed and booked back
    assert isinstance(picked, PickTask), picked
    assert routed == {order.pk}, routed
    assert waited == [True]
    assert Fulfillment.objects.get(pk=fulfillment.pk).status == "cancelled"
    assert PickTask.objects.get(pk=task.pk).status == "cancelled"
    assert PickList.objects.get(pk=task.pick_list_id).status == "done"
    assert list(PutBack.objects.values_list("quantity", "booked", "done_at")) == [(1, 1, None)]
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (1, 0)
    assert bin_violations() == []
    assert inventory_violations() == []


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_counts_follow_up_holding_the_order_makes_a_first_pick_wait_then_refuses_it(monkeypatch):
    floor, order, fulfillment, task, released = _one_tee_order_counted_away(monkeypatch)
    picked, routed, waited = _follow_up_first_then_pick(monkeypatch, warehouse_services, "pick_work_withdraw", task,
                                                        released)

    # the pick waited for the follow-up, then found its task off the list: nothing moved
    assert routed == {order.pk}, routed
    assert isinstance(picked, NotReady), picked
    assert waited == [True]
    assert Fulfillment.objects.get(pk=fulfillment.pk).status == "cancelled"
    assert (PickTask.objects.get(pk=task.pk).status, PickTask.objects.get(pk=task.pk).picked) == ("cancelled", 0)
    assert PickList.objects.get(pk=task.pick_list_id).status == "done"
    assert PutBack.objects.count() == 0
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (1, 0)
    assert bin_violations() == []
    assert inventory_violations() == []
