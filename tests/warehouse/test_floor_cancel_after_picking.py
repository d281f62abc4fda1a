"""An order cancelled after its picking finished (picked, packed, on the pickup shelf): its
units go back from the packing bin to the bins they were picked from, once, its packages are
voided, and the packing station says what to put back where (docs/adr/0005)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client
from django.utils import timezone

from channels_sync.tokens import token_issue
from inventory.services import stock_adjust
from omnichannel.errors import InvalidTransition
from orders import services as order_services
from orders.models import Fulfillment, Order, OrderEvent
from tests import factories
from tests.conftest import client_with_token
from tests.warehouse.floor_flow import ACTOR, outbound, pack_all, pick_all
from tests.warehouse.floor_setup import fulfillment_at, in_bin, last_movement_id, level, movements, place
from warehouse import selectors
from warehouse import services as warehouse_services
from warehouse.checks import bin_violations
from warehouse.models import Bin, BinStock, Package, PickList, PickTask, PutBack
from warehouse.services import packing, picking
from warehouse.tasks import cancel_uncollected_pickups

pytestmark = pytest.mark.django_db


def picked(floor) -> tuple[Order, Fulfillment]:
    """An order for a tee and a cap, picked at the Damrak warehouse: both wait in the packing bin."""
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    assert fulfillment.status == "picked"
    assert (in_bin(outbound(floor.wh), floor.shirt), in_bin(outbound(floor.wh), floor.cap)) == (1, 1)
    return order, fulfillment


def cancel(order: Order, actor: str = "channel:web") -> Order:
    with transaction.atomic():
        return order_services.order_cancel(Order.objects.select_for_update().get(pk=order.pk), actor=actor,
                                           reason="changed my mind")


def bins(floor, *codes: str) -> dict[str, int]:
    return {code: sum(BinStock.objects.filter(bin=floor.bins[code]).values_list("quantity", flat=True))
            for code in codes}


def put_backs(fulfillment: Fulfillment) -> list[tuple[str, str, int, int, bool]]:
    return sorted((p.sku.code, p.bin.code, p.quantity, p.booked, p.done_at is None)
                  for p in PutBack.objects.filter(fulfillment=fulfillment).select_related("sku", "bin"))


def logged_in(location, username: str) -> Client:
    member = factories.StaffFactory(user__username=username, role="picker", location=location)
    member.user.password = make_password("pw-123456")
    member.user.save()
    client = Client()
    client.force_login(member.user)
    return client


def test_an_order_cancelled_after_picking_puts_its_units_back_on_their_shelves(floor):
    order, fulfillment = picked(floor)
    before = last_movement_id()

    # when the customer cancels through the API
    client = client_with_token(token_issue(name="web", channel=floor.channel)[1])
    response = client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "changed my mind"}, format="json")

    # then the units are released and back, in the books, in the bins they were picked from
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    fulfillment.refresh_from_db()
    assert fulfillment.status == "cancelled"
    assert (in_bin(outbound(floor.wh), floor.shirt), in_bin(outbound(floor.wh), floor.cap)) == (0, 0)
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(floor.bins["A-02-1"], floor.cap)) == (10, 4)
    shirt, cap = level(floor.shirt, floor.wh), level(floor.cap, floor.wh)
    assert (shirt.on_hand, shirt.reserved, cap.on_hand, cap.reserved) == (10, 0, 4, 0)
    assert [m for m in movements(floor.shirt, floor.wh, before) + movements(floor.cap, floor.wh, before)
            if m[0] == "on_hand"] == []  # nothing left the building
    assert bin_violations() == []
    # and the packing station is told what to put back where
    assert put_backs(fulfillment) == [("CAP-RED", "A-02-1", 1, 1, True), ("TEE-WHT-M", "A-01-1", 1, 1, True)]
    tote = fulfillment.totes.get()
    assert selectors.put_backs_open(floor.wh) == [selectors.PutBackCard(
        fulfillment.pk, order.number, [tote.code], ["1 × TEE-WHT-M to bin A-01-1", "1 × CAP-RED to bin A-02-1"],
        0, PutBack.objects.filter(fulfillment=fulfillment).earliest("pk").created_at)]
    assert selectors.home_counts(floor.wh).put_backs == 1
    assert selectors.put_backs_open(floor.store) == []


def test_an_order_cancelled_after_packing_voids_its_package_and_puts_its_units_back(floor):
    order, fulfillment = picked(floor)
    with transaction.atomic():  # packed through the API, not shipped yet
        order_services.fulfillment_pack(order_services.fulfillment_lock(fulfillment.pk),
                                        packages=[order_services.PackageInput(weight_grams=700)], actor=ACTOR)
    fulfillment.refresh_from_db()
    assert fulfillment.status == "packed"
    package = fulfillment.packages.get()
    assert package.voided_at is None

    cancel(order)

    package.refresh_from_db()
    assert package.voided_at is not None
    assert (in_bin(outbound(floor.wh), floor.shirt), in_bin(outbound(floor.wh), floor.cap)) == (0, 0)
    assert bins(floor, "A-01-1", "A-02-1") == {"A-01-1": 10, "A-02-1": 4}
    assert bin_violations() == []
    [card] = selectors.put_backs_open(floor.wh)
    assert (card.order_number, card.packages, card.lines) == (
        order.number, 1, ["1 × TEE-WHT-M to bin A-01-1", "1 × CAP-RED to bin A-02-1"])


def test_a_pickup_cancelled_on_the_shelf_goes_back_to_the_stores_shelf(floor):
    order = place(floor, (floor.shoe, 1), pickup=floor.store, email="sam@example.com", name="Sam")
    fulfillment = fulfillment_at(order, floor.store)
    pick_all(fulfillment)
    pack_all(fulfillment)
    assert fulfillment.status == "ready_for_pickup"
    assert (in_bin(outbound(floor.store), floor.shoe), in_bin(floor.bins["S-01"], floor.shoe)) == (1, 2)

    cancel(order)

    assert (in_bin(outbound(floor.store), floor.shoe), in_bin(floor.bins["S-01"], floor.shoe)) == (0, 3)
    assert level(floor.shoe, floor.store).available == 3
    assert not Package.objects.filter(fulfillments=fulfillment, voided_at__isnull=True).exists()
    assert [(c.order_number, c.lines, c.packages) for c in selectors.put_backs_open(floor.store)] == [
        (order.number, ["1 × RUN-BLK-42 to bin S-01"], 1)]
    assert bin_violations() == []


def test_an_uncollected_pickup_is_listed_to_put_back_too_and_booked_once(floor):
    order = place(floor, (floor.shoe, 1), pickup=floor.store, email="sam@example.com", name="Sam")
    fulfillment = fulfillment_at(order, floor.store)
    pick_all(fulfillment)
    pack_all(fulfillment)
    OrderEvent.objects.filter(fulfillment=fulfillment, type="fulfillment.ready_for_pickup").update(
        created_at=timezone.now() - timedelta(days=3, minutes=1))

    assert cancel_uncollected_pickups() == 1

    assert (in_bin(outbound(floor.store), floor.shoe), in_bin(floor.bins["S-01"], floor.shoe)) == (0, 3)
    assert put_backs(fulfillment) == [("RUN-BLK-42", "S-01", 1, 1, True)]
    assert [c.lines for c in selectors.put_backs_open(floor.store)] == [["1 × RUN-BLK-42 to bin S-01"]]
    assert bin_violations() == []


def test_the_put_back_runs_once_when_called_again(floor):
    order, fulfillment = picked(floor)
    cancel(order)
    snapshot = (list(BinStock.objects.order_by("pk").values_list("bin_id", "sku_id", "quantity")),
                put_backs(fulfillment), list(Package.objects.values_list("pk", "voided_at")))

    # a retried hook (an outbox handler delivered twice, a second call) finds nothing to do
    with transaction.atomic():
        assert warehouse_services.bins_put_back_cancelled([fulfillment.pk], actor="system:retry") == []
    # and the cancel itself cannot run twice
    with pytest.raises(InvalidTransition), transaction.atomic():
        order_services.order_cancel(Order.objects.select_for_update().get(pk=order.pk), actor="channel:web")

    assert (list(BinStock.objects.order_by("pk").values_list("bin_id", "sku_id", "quantity")),
            put_backs(fulfillment), list(Package.objects.values_list("pk", "voided_at"))) == snapshot
    assert PutBack.objects.count() == 2
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 10
    assert bin_violations() == []


def test_an_order_cancelled_mid_walk_is_put_back_once_by_the_cancel(floor):
    order = place(floor, (floor.shirt, 1), (floor.shoe, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor=ACTOR)
    first = pick_list.tasks.order_by("sequence").first()
    assert first.sku == floor.shirt
    with transaction.atomic():
        picking.pick_scan(first, bin_code=first.bin.barcode, item_code=floor.shirt.code, actor=ACTOR)

    cancel(order)  # the tote leaves the walk at once and its tee goes back in the books

    assert (in_bin(outbound(floor.wh), floor.shirt), in_bin(floor.bins["A-01-1"], floor.shirt)) == (0, 10)
    assert put_backs(fulfillment) == [("TEE-WHT-M", "A-01-1", 1, 1, True)]  # open: listed until confirmed
    assert [c.lines for c in selectors.put_backs_open(floor.wh)] == [["1 × TEE-WHT-M to bin A-01-1"]]
    assert list(PickTask.objects.order_by("sequence").values_list("status", flat=True)) == ["done", "cancelled"]
    # neither the pick screen's clean-up nor a retried hook books it again
    with transaction.atomic():
        assert picking.pick_list_drop_cancelled(PickList.objects.get(pk=pick_list.pk), actor="picker:p") == []
    with transaction.atomic():
        assert warehouse_services.bins_put_back_cancelled([fulfillment.pk], actor="system:retry") == []
    assert PutBack.objects.count() == 1
    assert (in_bin(outbound(floor.wh), floor.shirt), in_bin(floor.bins["A-01-1"], floor.shirt)) == (0, 10)
    assert bin_violations() == []


def test_units_of_a_bin_switched_off_since_go_where_putaway_would_put_them(floor):
    order, fulfillment = picked(floor)
    Bin.objects.filter(pk=floor.bins["A-01-1"].pk).update(is_active=False)

    cancel(order)

    [shirt_back] = PutBack.objects.filter(sku=floor.shirt).select_related("bin")
    assert shirt_back.bin.kind == "storage" and shirt_back.bin.is_active
    assert shirt_back.bin.location_id == floor.wh.pk and shirt_back.bin.code != "A-01-1"
    assert in_bin(shirt_back.bin, floor.shirt) == 1
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (9, 0)
    assert bin_violations() == []


def test_a_packing_bin_emptied_in_the_books_meanwhile_still_adds_up(floor):
    order, fulfillment = picked(floor)
    # an adjustment made outside the floor takes its tee off the shelf, not out of the tote
    # (binstock.bins_units_gone_from_shelves; the packing bin only when the shelves cannot cover it)
    with transaction.atomic():
        stock_adjust(stock_level=level(floor.shirt, floor.wh), delta=-1, reason="lost", actor="ops:ops",
                     note="count")
    assert in_bin(outbound(floor.wh), floor.shirt) == 1

    cancel(order)

    # the tee in the tote goes back on its shelf, booked in full
    assert put_backs(fulfillment) == [("CAP-RED", "A-02-1", 1, 1, True), ("TEE-WHT-M", "A-01-1", 1, 1, True)]
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 9 and level(floor.shirt, floor.wh).on_hand == 9
    assert bin_violations() == []


def test_a_shipped_order_is_not_cancelled_and_nothing_is_put_back(floor):
    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    pack_all(fulfillment)
    assert fulfillment.status == "shipped"
    client = client_with_token(token_issue(name="web", channel=floor.channel)[1])
    assert client.post(f"/api/v1/orders/{order.number}/cancel/").status_code == 409
    assert PutBack.objects.count() == 0 and in_bin(floor.bins["A-01-1"], floor.shirt) == 9
    assert not Package.objects.filter(voided_at__isnull=False).exists()


def test_the_packing_station_shows_what_to_put_back_until_someone_confirms(floor):
    order, fulfillment = picked(floor)
    cancel(order)
    tote = fulfillment.totes.get()
    packer = logged_in(floor.wh, "packer-wh1")

    assert "1 to put back" in packer.get("/wms/").content.decode()
    page = packer.get("/wms/pack/").content.decode()
    assert f"Order {order.number} was cancelled · tote {tote.code}" in page
    assert "Put back 1 × TEE-WHT-M to bin A-01-1" in page and "Put back 1 × CAP-RED to bin A-02-1" in page
    # the packer scans the cancelled order's tote: not packed, told what to do
    scanned = packer.post("/wms/pack/", {"code": tote.code})
    assert scanned.status_code == 409
    assert (f"Order {order.number} was cancelled: do not pack it, put back 1 × TEE-WHT-M to bin A-01-1, "
            "1 × CAP-RED to bin A-02-1.") in scanned.content.decode()
    assert "Put back 1 × TEE-WHT-M to bin A-01-1" in packer.get(f"/wms/pack/{fulfillment.pk}/").content.decode()

    # staff of another location cannot clear it
    packer.logout()
    other = logged_in(floor.store, "clerk-st1")
    other.post("/wms/pack/", {"step": "put_back", "fulfillment": fulfillment.pk})
    assert PutBack.objects.filter(done_at__isnull=True).count() == 2
    assert "was cancelled" not in other.get("/wms/pack/").content.decode()

    packer = logged_in(floor.wh, "packer2-wh1")
    done = packer.post("/wms/pack/", {"step": "put_back", "fulfillment": fulfillment.pk}, follow=True)
    assert done.status_code == 200
    text = done.content.decode()
    assert f"Order {order.number}: units back on their shelves" in text and "was cancelled" not in text
    assert set(PutBack.objects.values_list("done_by", flat=True)) == {"picker:packer2-wh1"}
    assert selectors.home_counts(floor.wh).put_backs == 0
    again = packer.post("/wms/pack/", {"step": "put_back", "fulfillment": fulfillment.pk}, follow=True)
    assert "units back on their shelves" not in again.content.decode()  # confirmed once
    # the books did not move again when it was confirmed
    assert (in_bin(floor.bins["A-01-1"], floor.shirt), in_bin(outbound(floor.wh), floor.shirt)) == (10, 0)
    assert bin_violations() == []


def test_the_put_back_does_not_touch_the_other_orders_in_the_packing_bin(floor):
    order, fulfillment = picked(floor)
    other = place(floor, (floor.shirt, 2), email="ann@example.com", name="Ann")
    pick_all(fulfillment_at(other, floor.wh))
    assert in_bin(outbound(floor.wh), floor.shirt) == 3

    cancel(order)

    assert in_bin(outbound(floor.wh), floor.shirt) == 2  # Ann's two tees wait for packing
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 8
    assert packing.packing_find(floor.wh, other.number).order_id == other.pk
    assert PickTask.objects.filter(put_back__isnull=False).count() == 2
    assert bin_violations() == []
