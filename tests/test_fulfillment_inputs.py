"""Staff actions on a fulfillment with input a person can mistype: a clear 4xx naming the field,
nothing changed, and the right input afterwards works (pickup codes, rejection counts). And the
same class of bug in the webhook signature check."""

from __future__ import annotations

import json
import time

import pytest

from channels_sync import webhooks
from inventory.models import Reservation, StockLevel, StockMovement
from omnichannel.models import OutboxEvent
from orders.models import Fulfillment, Order, OrderEvent
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def state() -> tuple:
    """Everything a refused action must leave alone."""
    return (list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved", "damaged")),
            list(Fulfillment.objects.order_by("pk").values_list("status", "pickup_code_attempts")),
            list(Reservation.objects.order_by("pk").values_list("status", "quantity")),
            StockMovement.objects.count(), OrderEvent.objects.count(), OutboxEvent.objects.count())


# --- collect: a pickup code with characters other than ASCII ---------------------------------------------


@pytest.fixture
def ready_for_pickup(network, channel_client, picker_client_for):
    order = place(channel_client, pickup_order("ST1", ("RUN-BLK-42", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    assert picker.post(f"{base}/pack/", {"packages": [{"weight_grams": 900}]}, format="json").status_code == 200
    assert picker.post(f"{base}/ready-for-pickup/").json()["status"] == "ready_for_pickup"
    fulfillment.refresh_from_db()
    return fulfillment, picker, base


@pytest.mark.parametrize("code", ["🚀", "é", "１２３４５６", "ÄÖÜ123"])
def test_a_pickup_code_that_is_not_ascii_is_a_wrong_code_not_a_500(ready_for_pickup, network, code):
    fulfillment, picker, base = ready_for_pickup
    level = StockLevel.objects.get(sku=network["shoe"], location=network["ST1"])

    # as a storefront's JSON carries it: escaped, so a lone surrogate arrives too
    response = picker.post(f"{base}/collect/", json.dumps({"code": code}), content_type="application/json")

    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("pickup_code_invalid", "code")
    assert body["attempts_left"] == 4
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.pickup_code_attempts) == ("ready_for_pickup", 1)
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (3, 1)

    # The customer reads the right code out: handed over.
    collected = picker.post(f"{base}/collect/", {"code": fulfillment.pickup_code}, format="json")
    assert collected.status_code == 200 and collected.json()["status"] == "picked_up"


def test_a_pickup_code_with_a_lone_surrogate_is_refused_as_input(ready_for_pickup):
    fulfillment, picker, base = ready_for_pickup

    response = picker.post(f"{base}/collect/", '{"code": "\\ud800"}', content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "code"
    fulfillment.refresh_from_db()
    assert (fulfillment.status, fulfillment.pickup_code_attempts) == ("ready_for_pickup", 0)


# --- reject: counts per SKU -------------------------------------------------------------------------------


@pytest.fixture
def pending(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    assert fulfillment.location.code == "ST2"
    return fulfillment, picker_client_for(fulfillment.location), f"/api/v1/fulfillments/{fulfillment.pk}/reject/"


@pytest.mark.parametrize(("counts", "field", "says"), [
    ({"NOPE": 1}, "counts.NOPE", "'NOPE' is not a SKU of {number} (its SKUs: RUN-BLK-42, TEE-WHT-M)."),
    ({"RUN-BLK-42": 0, "NOPE": 1}, "counts.NOPE", "(its SKUs: RUN-BLK-42, TEE-WHT-M)"),
    ({"8712345000099": 1}, "counts.8712345000099", "is not a SKU"),  # a barcode of no SKU here
    ({"RUN-BLK-42": 0, "8712345000017": 1}, "counts.8712345000017", "counts RUN-BLK-42 again"),
])
def test_a_count_for_anything_but_a_sku_of_the_fulfillment_is_a_400_and_changes_nothing(pending, counts, field,
                                                                                         says):
    fulfillment, picker, url = pending
    before = state()

    response = picker.post(url, {"reason": "not_in_stock", "counts": counts}, format="json")

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["field"]) == ("invalid", field)
    assert says.format(number=fulfillment.number) in response.json()["detail"]
    assert state() == before
    fulfillment.refresh_from_db()
    assert fulfillment.status == "pending"


def test_a_sku_of_another_order_is_not_a_sku_of_this_fulfillment(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    before = state()
    response = picker_client_for(fulfillment.location).post(
        f"/api/v1/fulfillments/{fulfillment.pk}/reject/", {"reason": "not_in_stock", "counts": {"RUN-BLK-42": 0}},
        format="json")
    assert response.status_code == 400 and response.json()["field"] == "counts.RUN-BLK-42"
    assert state() == before


def test_counts_with_another_reason_are_refused_not_ignored(pending):
    fulfillment, picker, url = pending
    before = state()
    response = picker.post(url, {"reason": "damaged", "counts": {"RUN-BLK-42": 0}}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "counts"
    assert "only with reason not_in_stock" in response.json()["detail"]
    assert state() == before


def test_a_count_by_barcode_or_in_another_case_counts_that_sku(pending, network):
    """The shelf is counted with a scanner: the barcode names the SKU as well as its code."""
    fulfillment, picker, url = pending
    shoe = StockLevel.objects.get(sku=network["shoe"], location=network["ST2"])
    shirt = StockLevel.objects.get(sku=network["shirt"], location=network["ST2"])
    assert (shoe.on_hand, shirt.on_hand) == (2, 5)

    response = picker.post(url, {"reason": "not_in_stock", "counts": {"8712345000017": 1, " tee-wht-m ": 4}},
                           format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    shoe.refresh_from_db()
    shirt.refresh_from_db()
    assert (shoe.on_hand, shoe.reserved) == (1, 0)
    assert (shirt.on_hand, shirt.reserved) == (4, 0)


def test_a_typo_in_a_count_can_be_corrected_by_sending_it_again(pending, network):
    fulfillment, picker, url = pending
    assert picker.post(url, {"reason": "not_in_stock", "counts": {"RUN-BLK-24": 0}}, format="json").status_code == 400
    response = picker.post(url, {"reason": "not_in_stock", "counts": {"RUN-BLK-42": 0}}, format="json")
    assert response.status_code == 200, response.content
    shoe = StockLevel.objects.get(sku=network["shoe"], location=network["ST2"])
    assert (shoe.on_hand, shoe.reserved) == (0, 0)


# --- the webhook signature check, the same class of bug ---------------------------------------------------


@pytest.mark.parametrize("header", [
    "t={now},v1=🚀",
    "t={now},v1=é" + "0" * 63,
    "t=١٢٣,v1=abc",  # Arabic-Indic digits: int() reads them
    "t=" + "9" * 400 + ",v1=abc",  # a timestamp no float can hold
    "t={now},v1=\ud800",  # a lone surrogate
    "🚀",
    "",
])
def test_a_signature_header_that_is_not_ascii_is_refused_not_an_error(header):
    """Channels and tests check our webhooks with `verify`: compare_digest raised a TypeError on
    a header with anything but ASCII, where a bad signature must simply not verify."""
    now = int(time.time())
    body = '{"type": "shipment.shipped"}'
    assert webhooks.verify("whsec-test-123", header.replace("{now}", str(now)), body) is False
    good = webhooks.sign("whsec-test-123", now, body)
    assert webhooks.verify("whsec-test-123", good, body) is True
    assert webhooks.verify("whsec-test-123", good + "é", body) is False
