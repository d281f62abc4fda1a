"""Admin actions run the inventory services: an intermediate form page, then one call per
selected row; transfers move on and checkout holds are released from their changelists."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory import services
from inventory.models import Reservation, StockLevel, StockMovement, Transfer
from inventory.services import ReserveRequest, TransferLineInput
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:inventory_stocklevel_changelist"


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", None))
    return client


def levels(network, *pairs: tuple[str, str]) -> list[int]:
    return [StockLevel.objects.get(sku=network[s], location=network[loc]).pk for s, loc in pairs]


def run_action(client, action: str, selected: list[int], url: str = CHANGELIST, **fields):
    body = {"action": action, "_selected_action": selected}
    if fields:
        body |= {"apply": "1", **fields}
    return client.post(reverse(url), body, follow=bool(fields))


def on_hand(network, sku: str, location: str) -> int:
    return StockLevel.objects.get(sku=network[sku], location=network[location]).on_hand


def test_an_action_first_shows_its_form_for_the_selected_rows(network, admin_client):
    response = run_action(admin_client, "receive", levels(network, ("shoe", "WH1")))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="quantity"' in html and 'name="apply"' in html
    assert "RUN-BLK-42" in html or str(network["shoe"].pk) in html


def test_receive_action_receives_into_each_selected_level(network, admin_client):
    response = run_action(admin_client, "receive", levels(network, ("shoe", "WH1"), ("shoe", "ST1")), quantity="4",
                          note="delivery 12")

    assert response.status_code == 200
    assert (on_hand(network, "shoe", "WH1"), on_hand(network, "shoe", "ST1")) == (24, 7)
    assert set(StockMovement.objects.filter(note="delivery 12").values_list("actor", flat=True)) == {"admin:root"}


def test_adjust_action_reports_a_refusal_per_row_and_applies_the_others(network, admin_client):
    response = run_action(admin_client, "adjust", levels(network, ("shoe", "WH1"), ("shoe", "ST2")), delta="-3",
                          reason="lost", note="")

    html = response.content.decode()
    assert (on_hand(network, "shoe", "WH1"), on_hand(network, "shoe", "ST2")) == (17, 2)
    assert "adjusted -3 (lost)" in html
    assert "would take units that are reserved or not there" in html


def test_an_invalid_form_is_shown_again_and_nothing_moves(network, admin_client):
    before = StockMovement.objects.count()
    response = admin_client.post(reverse(CHANGELIST), {"action": "adjust", "apply": "1", "delta": "x",
                                                       "reason": "lost", "_selected_action": levels(network, ("shoe", "WH1"))})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert StockMovement.objects.count() == before


def test_move_count_and_safety_stock_actions(network, admin_client):
    [pk] = levels(network, ("shoe", "WH1"))

    run_action(admin_client, "move_state", [pk], from_state="available", to_state="damaged", quantity="2", reason="",
               note="")
    run_action(admin_client, "set_safety_stock", [pk], safety_stock="3")
    response = run_action(admin_client, "count", [pk], counted="19", note="")

    level = StockLevel.objects.get(pk=pk)
    assert (level.on_hand, level.damaged, level.safety_stock, level.available) == (19, 2, 3, 14)
    assert "counted 19 (-1)" in response.content.decode()
    assert list(StockMovement.objects.filter(stock_level_id=pk).order_by("pk").values_list("state", "reason"))[1:] == [
        ("damaged", "to_damaged"), ("safety_stock", "set"), ("on_hand", "count")]


def test_request_transfer_action_makes_one_transfer_per_source(network, admin_client):
    selected = levels(network, ("shoe", "WH1"), ("shirt", "WH1"), ("shirt", "ST9"))

    run_action(admin_client, "request_transfer", selected, destination=str(network["ST1"].pk), quantity="2")

    transfers = Transfer.objects.order_by("source__code")
    assert [(t.source.code, t.destination.code, t.lines.count()) for t in transfers] == [("ST9", "ST1", 1),
                                                                                         ("WH1", "ST1", 2)]


def test_transfer_admin_ships_receives_and_cancels(network, admin_client):
    first = services.transfer_request(network["WH1"], network["ST1"], [TransferLineInput(network["shoe"], 3)])
    second = services.transfer_request(network["WH1"], network["ST2"], [TransferLineInput(network["shoe"], 1)])
    url = "admin:inventory_transfer_changelist"

    run_action(admin_client, "ship", [first.pk], url=url, x="1")
    run_action(admin_client, "receive_in_full", [first.pk], url=url, x="1")
    response = run_action(admin_client, "cancel", [first.pk, second.pk], url=url, x="1")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("received", "cancelled")
    assert (on_hand(network, "shoe", "WH1"), on_hand(network, "shoe", "ST1")) == (17, 6)
    assert "Cannot cancel a transfer that is received." in response.content.decode()
    assert admin_client.get(reverse("admin:inventory_transfer_change", args=[first.pk])).status_code == 200


def test_reservation_admin_releases_holds_but_not_order_reservations(network, admin_client):
    [level_pk] = levels(network, ("shoe", "WH1"))
    level = StockLevel.objects.get(pk=level_pk)
    hold = services.hold_create(stock_level=level, quantity=2, minutes=10, reference_id="cart-1")
    [order] = services.stock_reserve([ReserveRequest(level_pk, 3, "5")], reference_type="order_line")

    response = run_action(admin_client, "release_holds", [hold.pk, order.pk],
                          url="admin:inventory_reservation_changelist", x="1")

    assert dict(Reservation.objects.values_list("pk", "status")) == {hold.pk: "released", order.pk: "open"}
    assert "Released 1 hold(s), 2 unit(s); 1 skipped" in response.content.decode()


def test_staff_without_the_ops_role_cannot_run_stock_actions(network, client):
    user = get_user_model().objects.create_user("floor", password=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    factories.StaffFactory(user=user, role="picker", location=network["ST1"])
    client.force_login(user)

    page = client.get(reverse(CHANGELIST))
    run_action(client, "receive", levels(network, ("shoe", "ST1")), quantity="5", note="")

    assert page.status_code == 200
    assert 'value="receive"' not in page.content.decode()
    assert client.get(reverse("admin:inventory_stocklevel_import")).status_code == 403
    assert on_hand(network, "shoe", "ST1") == 3
