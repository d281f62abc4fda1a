"""The whole order journey through the HTTP API: ship-to-home to delivered, and click &
collect to picked up. Each runs twice: with Celery eager in-process, and (Postgres +
Redis) with a real Celery worker process consuming from Redis."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command

from inventory.models import StockLevel, StockMovement
from orders.models import CustomerNotification, Order
from tests.conftest import requires_worker, wait_for
from tests.payloads import pickup_order, ship_order


def level(sku, location) -> StockLevel:
    return StockLevel.objects.get(sku=sku, location=location)


def wait_status(number: str, status: str, timeout: float = 30) -> Order:
    return wait_for(lambda: Order.objects.filter(number=number, status=status).first(), timeout,
                    f"order {number} to become {status}")


def notification_kinds(order: Order) -> list[str]:
    return sorted(order.notifications.filter(status="sent").values_list("kind", flat=True))


def ship_journey(network, channel_client, picker_client_for, ops_client):
    shoe, shirt, store = network["shoe"], network["shirt"], network["ST2"]

    # Capture: 2 shoes + 1 shirt to Damrak. The nearest location holding both is De Pijp (ST2).
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)),
                                   format="json", HTTP_IDEMPOTENCY_KEY="journey-ship-1")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert level(shoe, store).reserved == 2 and level(shirt, store).reserved == 1

    # Route (Celery): one fulfillment at ST2, awaiting acceptance.
    order = wait_status(number, "allocated")
    fulfillment = order.fulfillments.get()
    assert fulfillment.location == store and fulfillment.status == "pending"

    picker = picker_client_for(store)
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    assert picker.post(f"{base}/accept/").json()["status"] == "accepted"
    assert picker.post(f"{base}/start-picking/").json()["status"] == "picking"
    assert wait_status(number, "in_progress")
    assert picker.post(f"{base}/picked/").json()["status"] == "picked"
    packed = picker.post(f"{base}/pack/", {"packages": [{"weight_grams": 1400, "length_cm": 35, "width_cm": 25,
                                                          "height_cm": 15}]}, format="json")
    assert packed.json()["status"] == "packed"
    shipped = picker.post(f"{base}/ship/", {}, format="json").json()
    assert shipped["status"] == "shipped"
    tracking = shipped["shipment"]["tracking_number"]
    assert tracking.startswith("OMNI") and shipped["shipment"]["carrier"] == "OmniPost"

    label = picker.get(shipped["shipment"]["label_url"])
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert b"".join(label).startswith(b"%PDF")

    # Shipping committed the stock: on_hand and reserved both fell.
    assert (level(shoe, store).on_hand, level(shoe, store).reserved) == (0, 0)
    assert (level(shirt, store).on_hand, level(shirt, store).reserved) == (4, 0)

    # The carrier scans it delivered.
    scan = ops_client.post(f"/api/v1/shipments/{tracking}/events/", {"status": "delivered",
                                                                      "location": "Damrak 70"}, format="json")
    assert scan.status_code == 201, scan.content
    order = wait_status(number, "delivered")

    timeline = [e["type"] for e in channel_client.get(f"/api/v1/orders/{number}/").json()["timeline"]]
    assert timeline == ["order.placed", "order.confirmed", "fulfillment.created", "order.routed",
                        "fulfillment.accepted", "fulfillment.picking_started", "fulfillment.picked",
                        "fulfillment.packed", "shipment.shipped", "shipment.delivered"]
    wanted = sorted(["order.confirmed", "fulfillment.picking_started", "shipment.shipped", "shipment.delivered"])
    wait_for(lambda: notification_kinds(order) == wanted, 20, "the four customer emails")
    ledger = list(StockMovement.objects.filter(stock_level=level(shoe, store)).values_list("state", "delta", "reason"))
    assert ledger == [("on_hand", 2, "receive"), ("reserved", 2, "reserve"), ("reserved", -2, "ship"),
                      ("on_hand", -2, "ship")]
    call_command("check_inventory")
    return order


def pickup_journey(network, channel_client, picker_client_for):
    shoe, store = network["shoe"], network["ST1"]
    response = channel_client.post("/api/v1/orders/", pickup_order("ST1", ("RUN-BLK-42", 1)), format="json",
                                   HTTP_IDEMPOTENCY_KEY="journey-pickup-1")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    order = wait_status(number, "allocated")
    fulfillment = order.fulfillments.get()
    assert fulfillment.location == store

    picker = picker_client_for(store)
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    assert picker.post(f"{base}/pack/", {"packages": [{"weight_grams": 900}]}, format="json").status_code == 200
    assert picker.post(f"{base}/ship/", {}, format="json").status_code == 409  # pickup orders are not shipped
    ready = picker.post(f"{base}/ready-for-pickup/")
    assert ready.json()["status"] == "ready_for_pickup"
    assert wait_status(number, "ready_for_pickup")
    fulfillment.refresh_from_db()
    code = fulfillment.pickup_code

    wrong = picker.post(f"{base}/collect/", {"code": "000000" if code != "000000" else "111111"}, format="json")
    assert wrong.status_code == 422 and wrong.json()["code"] == "pickup_code_invalid"
    assert level(shoe, store).on_hand == 3  # nothing handed over
    right = picker.post(f"{base}/collect/", {"code": code}, format="json")
    assert right.status_code == 200 and right.json()["status"] == "picked_up"
    order = wait_status(number, "picked_up")
    assert (level(shoe, store).on_hand, level(shoe, store).reserved) == (2, 0)
    wanted = sorted(["order.confirmed", "fulfillment.picking_started", "fulfillment.ready_for_pickup",
                     "fulfillment.picked_up"])
    wait_for(lambda: notification_kinds(order) == wanted, 20, "the pickup emails")
    ready_mail = order.notifications.get(kind="fulfillment.ready_for_pickup")
    assert code in ready_mail.body and "Kalverstraat" in ready_mail.body
    call_command("check_inventory")
    return order


@pytest.mark.django_db(transaction=True)
def test_ship_to_home_journey_eager(network, channel_client, picker_client_for, ops_client):
    order = ship_journey(network, channel_client, picker_client_for, ops_client)
    subjects = [m.subject for m in mail.outbox]
    assert f"Your order {order.number} is being prepared" in subjects
    assert len(subjects) == 4


@pytest.mark.django_db(transaction=True)
def test_pickup_journey_eager(network, channel_client, picker_client_for):
    pickup_journey(network, channel_client, picker_client_for)
    assert len(mail.outbox) == 4


@requires_worker
@pytest.mark.worker
def test_ship_to_home_journey_with_celery_worker(celery_worker, network, channel_client, picker_client_for,
                                                 ops_client):
    order = ship_journey(network, channel_client, picker_client_for, ops_client)
    sent = "".join(p.read_text() for p in celery_worker["mail_dir"].glob("*"))
    assert f"Your order {order.number} is being prepared" in sent
    assert CustomerNotification.objects.filter(order=order).count() == 4


@requires_worker
@pytest.mark.worker
def test_pickup_journey_with_celery_worker(celery_worker, network, channel_client, picker_client_for):
    order = pickup_journey(network, channel_client, picker_client_for)
    sent = "".join(p.read_text() for p in celery_worker["mail_dir"].glob("*"))
    assert f"Your order {order.number} is ready for pickup" in sent
