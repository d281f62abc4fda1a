"""The screens' rules that need no browser: login, location scoping (404), CSRF, the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client

from channels_sync.tokens import token_issue
from tests import factories
from tests.conftest import client_with_token
from tests.warehouse.floor_setup import fulfillment_at, place
from warehouse.models import PickList, PickTask, Receipt
from warehouse.services import picking, receiving

pytestmark = pytest.mark.django_db


def logged_in(location, username="picker", csrf=False) -> Client:
    member = factories.StaffFactory(user__username=username, role="picker", location=location)
    member.user.password = make_password("pw-123456")
    member.user.save()
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(member.user)
    return client


def a_pick_list(floor) -> PickList:
    order = place(floor, (floor.shirt, 1))
    with transaction.atomic():
        return picking.pick_list_create(floor.wh, [fulfillment_at(order, floor.wh)], kind="single",
                                        actor="picker:p")


def test_screens_need_a_login(floor):
    response = Client().get("/wms/pick/")
    assert response.status_code == 302 and response["Location"].startswith("/wms/login/")


def test_another_locations_pick_list_answers_404(floor):
    pick_list = a_pick_list(floor)
    stranger = logged_in(floor.store, "picker-st1")
    assert stranger.get(f"/wms/pick/{pick_list.pk}/").status_code == 404
    task = pick_list.tasks.get()
    response = stranger.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": "WH1-A-01-1",
                                                            "code": floor.shirt.barcode})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.picked == 0
    own = logged_in(floor.wh, "picker-wh1")
    page = own.get(f"/wms/pick/{pick_list.pk}/")
    assert page.status_code == 200 and b"A-01-1" in page.content
    assert own.get(f"/wms/pack/{fulfillment_at(pick_list.totes.get().fulfillment.order, floor.wh).pk}/") \
        .status_code == 200
    assert stranger.get(f"/wms/pack/{pick_list.totes.get().fulfillment_id}/").status_code == 404


def test_api_pick_list_is_scoped_too(floor):
    pick_list = a_pick_list(floor)
    stranger = factories.StaffFactory(user__username="api-st1", role="picker", location=floor.store)
    client = client_with_token(token_issue(name="api-st1", user=stranger.user)[1])
    assert client.get(f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").status_code == 404
    own = factories.StaffFactory(user__username="api-wh1", role="picker", location=floor.wh)
    body = client_with_token(token_issue(name="api-wh1", user=own.user)[1]).get(
        f"/api/v1/warehouse/pick-lists/{pick_list.pk}/").json()
    assert [(t["bin"], t["sku"], t["quantity"]) for t in body["tasks"]] == [("A-01-1", "TEE-WHT-M", 1)]


def test_posts_need_the_csrf_token(floor):
    pick_list = a_pick_list(floor)
    client = logged_in(floor.wh, "picker-wh1", csrf=True)
    response = client.post(f"/wms/pick/{pick_list.pk}/", {"step": "bin", "code": "WH1-A-01-1"})
    assert response.status_code == 403


def test_a_wrong_scan_answers_with_the_banner_and_records_nothing(floor):
    pick_list = a_pick_list(floor)
    client = logged_in(floor.wh, "picker-wh1")
    response = client.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": "WH1-A-01-1", "code": "8712345000017"})
    assert response.status_code == 400 and b'role="alert"' in response.content
    assert b'class="scan"' in response.content
    assert PickTask.objects.get(pick_list=pick_list).picked == 0


def test_a_scan_with_a_nul_character_is_judged_on_the_rest_not_a_500(floor):
    pick_list = a_pick_list(floor)
    client = logged_in(floor.wh, "picker-wh1")
    wrong = client.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": "WH1-A-01-1",
                                                       "code": "87123\x0045000017"})
    assert wrong.status_code == 400 and b'role="alert"' in wrong.content
    right = client.post(f"/wms/pick/{pick_list.pk}/", {"step": "item", "bin": "WH1-A-01-1\x00",
                                                       "code": floor.shirt.barcode + "\x00"})
    assert right.status_code in (200, 302), right.content[:300]
    assert PickTask.objects.get(pick_list=pick_list).picked == 1
    page = client.get(f"/wms/pick/{pick_list.pk}/?bin=WH1-A-01-1%00")  # in a query string too
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


def test_a_store_starts_a_single_order_pick_list_from_the_waiting_orders(floor):
    order = place(floor, (floor.shoe, 1), pickup=floor.store)
    fulfillment = fulfillment_at(order, floor.store)
    client = logged_in(floor.store, "picker-st1")
    assert order.number.encode() in client.get("/wms/pick/").content
    response = client.post("/wms/pick/", {"fulfillment": fulfillment.pk})
    pick_list = PickList.objects.get()
    assert response["Location"] == f"/wms/pick/{pick_list.pk}/"
    assert (pick_list.kind, pick_list.tasks.get().bin.code) == ("single", "S-01")


def test_ops_release_waves_and_enter_supplier_notices_by_api(floor, ops_client):
    place(floor, (floor.shirt, 1))
    response = ops_client.post("/api/v1/warehouse/waves/", {"location": "WH1", "delivery_method": "ship"},
                               format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["pick_lists"]) == 1
    again = ops_client.post("/api/v1/warehouse/waves/", {"location": "WH1"}, format="json")
    assert again.status_code == 422 and again.json()["code"] == "nothing_to_pick"
    asn = ops_client.post("/api/v1/warehouse/receipts/", {
        "location": "WH1", "supplier": "Omni Footwear BV", "reference": "ASN-9",
        "lines": [{"sku": "RUN-BLK-42", "quantity": 6}, {"sku": floor.cap.barcode, "quantity": 2}]}, format="json")
    assert asn.status_code == 201, asn.content
    assert [(line["sku"], line["expected_quantity"]) for line in asn.json()["lines"]] == [("RUN-BLK-42", 6),
                                                                                          ("CAP-RED", 2)]
    bad = ops_client.post("/api/v1/warehouse/receipts/", {"location": "WH1", "supplier": "x", "reference": "y",
                                                          "lines": [{"sku": "NOPE", "quantity": 1}]}, format="json")
    assert bad.status_code == 400 and Receipt.objects.count() == 1


def test_ops_choose_a_location_then_release_waves_which_pickers_cannot(floor):
    place(floor, (floor.shirt, 1))
    member = factories.StaffFactory(user__username="ops-user", role="ops", location=None)
    ops = Client()
    ops.force_login(member.user)
    assert ops.get("/wms/")["Location"] == "/wms/location/"
    assert ops.post("/wms/location/", {"code": "WH1"})["Location"] == "/wms/"
    response = ops.post("/wms/waves/", {"delivery_method": "ship", "batch_size": "4"})
    assert response.status_code == 302
    assert PickList.objects.get().location == floor.wh
    again = ops.post("/wms/waves/", {"delivery_method": "ship"})
    assert again.status_code == 422 and b"No fulfillment waits" in again.content
    picker = logged_in(floor.wh, "picker-wh1")
    assert picker.post("/wms/waves/", {"delivery_method": "ship"}).status_code == 403


def test_a_shipped_transfer_is_received_from_the_receiving_screen(floor):
    from inventory.services import TransferLineInput, transfer_request, transfer_ship

    with transaction.atomic():
        transfer = transfer_ship(transfer_request(floor.wh2, floor.wh, [TransferLineInput(floor.cap, 2)],
                                                  actor="ops"), actor="ops")
    client = logged_in(floor.wh, "picker-wh1")
    assert transfer.number.encode() in client.get("/wms/receiving/").content
    assert logged_in(floor.store, "picker-st1").post("/wms/receiving/", {"transfer": transfer.pk}).status_code == 404
    response = client.post("/wms/receiving/", {"transfer": transfer.pk})
    receipt = Receipt.objects.get(transfer=transfer)
    assert response["Location"] == f"/wms/receiving/{receipt.pk}/"
    client.post(f"/wms/receiving/{receipt.pk}/", {"code": floor.cap.barcode, "quantity": "2"})
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert receipt.lines.get().received_quantity == 2


def test_a_second_tap_on_a_waiting_order_answers_409_not_a_second_pick_list(floor):
    order = place(floor, (floor.shoe, 1), pickup=floor.store)
    fulfillment = fulfillment_at(order, floor.store)
    client = logged_in(floor.store, "picker-st1")
    assert client.post("/wms/pick/", {"fulfillment": fulfillment.pk}).status_code == 302
    again = client.post("/wms/pick/", {"fulfillment": fulfillment.pk})
    assert again.status_code == 409 and b"already on pick list" in again.content
    assert PickList.objects.count() == 1 and PickTask.objects.count() == 1


def test_a_supplier_notice_with_an_absurd_quantity_is_a_400_not_a_500(floor, ops_client):
    for quantity in (3_000_000_000, 10**20):
        response = ops_client.post("/api/v1/warehouse/receipts/", {
            "location": "WH1", "supplier": "Omni Footwear BV", "reference": "ASN-9",
            "lines": [{"sku": "RUN-BLK-42", "quantity": quantity}]}, format="json")
        assert response.status_code == 400, response.content[:300]
        assert response.json()["field"].startswith("lines")
    assert Receipt.objects.count() == 0


def test_a_barcode_scanned_into_the_quantity_field_books_nothing(floor):
    from tests.warehouse.floor_setup import level

    with transaction.atomic():
        receipt = receiving.receipt_create_supplier(floor.wh, supplier="Omni Footwear BV", reference="ASN-9",
                                                    lines=[receiving.ExpectedLine(floor.shoe, 2)], actor="ops")
    client = logged_in(floor.wh, "picker-wh1")
    response = client.post(f"/wms/receiving/{receipt.pk}/", {"code": floor.shoe.barcode,
                                                             "quantity": floor.shoe.barcode})
    assert response.status_code == 400 and b'role="alert"' in response.content
    assert level(floor.shoe, floor.wh).on_hand == 2
    assert receipt.lines.get().received_quantity == 0


def test_a_wave_with_a_cutoff_that_is_not_a_time_is_refused_and_releases_nothing(floor):
    place(floor, (floor.shirt, 1))
    member = factories.StaffFactory(user__username="ops-user", role="ops", location=None)
    ops = Client()
    ops.force_login(member.user)
    ops.post("/wms/location/", {"code": "WH1"})
    for cutoff in ("25:00", "3pm", "soon"):
        response = ops.post("/wms/waves/", {"delivery_method": "ship", "cutoff_before": cutoff})
        assert response.status_code == 400, (cutoff, response.status_code)
        assert b'role="alert"' in response.content
    assert PickList.objects.count() == 0
    assert ops.post("/wms/waves/", {"delivery_method": "ship", "cutoff_before": ""}).status_code == 302
    assert PickList.objects.count() == 1


def test_the_pick_screen_takes_a_cancelled_order_off_the_walk_and_says_what_to_put_back(floor):
    from orders.models import Order
    from orders.services import order_cancel

    first = place(floor, (floor.shirt, 1), (floor.cap, 1))
    second = place(floor, (floor.shoe, 1), email="ann@example.com", name="Ann")
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment_at(first, floor.wh), fulfillment_at(second, floor.wh)],
                                             kind="batch", actor="picker:p")
    client = logged_in(floor.wh, "picker-wh1")
    page = f"/wms/pick/{pick_list.pk}/"
    assert client.post(page, {"step": "item", "bin": "WH1-A-01-1", "code": floor.shirt.barcode}).status_code == 302
    with transaction.atomic():
        order_cancel(Order.objects.select_for_update().get(pk=first.pk), actor="channel:web")
    # the picker, whose screen still shows the cap of the cancelled order, scans it: nothing is
    # picked, the screen explains, lists the tee to put back and moves on to the other order
    cap = PickTask.objects.get(tote__fulfillment__order=first, sku=floor.cap)
    response = client.post(page, {"step": "item", "bin": "WH1-A-02-1", "code": floor.cap.barcode, "task": cap.pk},
                           follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert f"Order {first.number} was cancelled" in text and "Put back 1 × TEE-WHT-M to bin A-01-1" in text
    assert "A-03-2" in text  # the next stop: the other order's shoe
    assert PickTask.objects.filter(tote__fulfillment__order=first, status="cancelled").count() == 1
    assert not PickTask.objects.filter(sku=floor.cap, picked__gt=0).exists()


def test_the_return_screen_starts_a_count_over(floor):
    from tests.warehouse.floor_flow import pack_all, pick_all
    from warehouse.models import ReturnLine

    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    pack_all(fulfillment)
    client = logged_in(floor.store, "clerk-st1")
    opened = client.post("/wms/returns/", {"code": order.number})
    assert opened.status_code == 302
    page = opened["Location"]
    client.post(page, {"code": floor.shirt.barcode, "disposition": "damaged"})
    assert b'id="clear"' in client.get(page).content
    cleared = client.post(page, {"step": "clear"}, follow=True)
    assert cleared.status_code == 200 and b"1 scanned unit(s) cleared" in cleared.content
    assert ReturnLine.objects.count() == 0 and b'id="clear"' not in cleared.content
