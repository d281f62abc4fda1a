"""A mistyped package weight must not strand a fulfillment: a weight no carrier service takes is
refused when packing (400 on that package's weight, staff API and packing screen alike), and a
packed fulfillment can be packed again, which replaces its packages (the old ones voided, the
timeline saying so) and then ships."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from omnichannel.errors import ValidationFailed
from orders.models import Order, OrderEvent
from tests import factories
from tests.payloads import pickup_order, ship_order
from tests.warehouse.floor_flow import ACTOR, pick_all
from tests.warehouse.floor_setup import fulfillment_at, place
from transport.models import RateCardEntry, Shipment
from warehouse.errors import TooMany
from warehouse.models import Package, PackingBox
from warehouse.services import packing


def place_by_api(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def picked_by_api(network, channel_client, picker_client_for, body=None):
    order = place_by_api(channel_client, body or ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    return fulfillment, picker, base


def pack(picker, base, *weights: int):
    return picker.post(f"{base}/pack/", {"packages": [{"weight_grams": w} for w in weights]}, format="json")


def live_packages(fulfillment) -> list[int]:
    return list(fulfillment.packages.order_by("pk").values_list("weight_grams", flat=True))


# --- the staff API ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("weights, index", [((1_000_000,), 0), ((900, 31501), 1)])
def test_a_package_no_carrier_takes_is_refused_when_packing(network, channel_client, picker_client_for, weights,
                                                            index):
    fulfillment, picker, base = picked_by_api(network, channel_client, picker_client_for)

    response = pack(picker, base, *weights)

    assert response.status_code == 400, response.content
    assert response.json()["field"] == f"packages[{index}].weight_grams"
    assert response.json()["detail"] == (
        f"Package {index + 1} weighs {weights[index]} g: no carrier service takes a parcel over 31500 g. "
        "Weigh it again, or split it into more packages.")
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked"
    assert not Package.objects.exists()
    assert pack(picker, base, 31500).json()["status"] == "packed"  # the heaviest tier, inclusive


@pytest.mark.django_db(transaction=True)
def test_a_click_and_collect_package_is_not_held_to_carrier_weights(network, channel_client, picker_client_for):
    fulfillment, picker, base = picked_by_api(network, channel_client, picker_client_for,
                                              pickup_order("ST1", ("RUN-BLK-42", 1)))
    assert pack(picker, base, 40_000).json()["status"] == "packed"


@pytest.mark.django_db(transaction=True)
def test_packing_again_replaces_the_packages_and_then_ships(network, channel_client, picker_client_for):
    fulfillment, picker, base = picked_by_api(network, channel_client, picker_client_for)
    assert pack(picker, base, 9000, 900).status_code == 200  # 9000: meant 900
    first = list(fulfillment.packages.order_by("pk"))

    response = pack(picker, base, 900)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "packed"
    fulfillment.refresh_from_db()
    assert live_packages(fulfillment) == [900]
    assert all(Package.objects.get(pk=p.pk).voided_at is not None for p in first)
    assert set(Package.objects.filter(voided_at__isnull=True).values_list("weight_grams", flat=True)) == {900}
    entry = OrderEvent.objects.filter(fulfillment=fulfillment).order_by("pk").last()
    assert (entry.type, entry.status_from, entry.status_to) == ("fulfillment.repacked", "packed", "packed")
    assert entry.message == "Packed again: 1 package(s), 900 g, replacing 2 package(s), 9900 g"
    assert entry.payload["voided_packages"] == [p.pk for p in first]

    shipped = picker.post(f"{base}/ship/", {}, format="json")
    assert shipped.status_code == 200, shipped.content
    shipment = Shipment.objects.get()
    assert (shipment.parcel_count, shipment.weight_grams) == (1, 900)


@pytest.mark.django_db(transaction=True)
def test_a_fulfillment_stranded_by_a_weight_is_packed_again_and_ships(network, channel_client, picker_client_for):
    """Packed at 25 kg while the heaviest tier was 31.5 kg; ops then drop that tier: booking
    refuses (422), and packing again into lighter parcels is the way out."""
    fulfillment, picker, base = picked_by_api(network, channel_client, picker_client_for)
    assert pack(picker, base, 25_000).status_code == 200
    RateCardEntry.objects.filter(max_weight_grams=31500).delete()
    stuck = picker.post(f"{base}/ship/", {}, format="json")
    assert stuck.status_code == 422 and "above the heaviest tier (10000 g)" in stuck.json()["detail"]

    refused = pack(picker, base, 25_000)
    assert refused.status_code == 400 and refused.json()["field"] == "packages[0].weight_grams"
    fulfillment.refresh_from_db()
    assert (fulfillment.status, live_packages(fulfillment)) == ("packed", [25_000])  # the refusal changed nothing
    assert not Package.objects.filter(voided_at__isnull=False).exists()

    assert pack(picker, base, 9000, 9000, 7000).status_code == 200
    shipped = picker.post(f"{base}/ship/", {}, format="json")
    assert shipped.status_code == 200, shipped.content
    assert Shipment.objects.get().parcel_count == 3


@pytest.mark.django_db(transaction=True)
def test_a_shipped_fulfillment_is_not_packed_again(network, channel_client, picker_client_for):
    fulfillment, picker, base = picked_by_api(network, channel_client, picker_client_for)
    pack(picker, base, 900)
    assert picker.post(f"{base}/ship/", {}, format="json").status_code == 200
    response = pack(picker, base, 800)
    assert response.status_code == 409 and response.json()["current_status"] == "shipped"
    assert live_packages(fulfillment) == [900]


# --- the packing screen -----------------------------------------------------------------------------------


def screen_client(location) -> Client:
    member = factories.StaffFactory(user__username="packer", role="picker", location=location)
    client = Client()
    client.force_login(member.user)
    return client


def picked_on_the_floor(floor):
    order = place(floor, (floor.shirt, 1))
    fulfillment = fulfillment_at(order, floor.wh)
    pick_all(fulfillment)
    with transaction.atomic():
        packing.pack_scan(fulfillment, floor.shirt.code, quantity=1, actor=ACTOR)
    return fulfillment


@pytest.mark.django_db
def test_the_packing_screen_refuses_a_weight_no_carrier_takes_and_keeps_the_box(floor):
    fulfillment = picked_on_the_floor(floor)
    client = screen_client(floor.wh)

    response = client.post(f"/wms/pack/{fulfillment.pk}/", {"step": "box", "weight_grams": "40000"})

    assert response.status_code == 400
    assert "Box 1 weighs 40000 g: no carrier service takes a parcel over 31500 g." in response.content.decode()
    assert PackingBox.objects.get(fulfillment=fulfillment).weight_grams is None
    assert client.post(f"/wms/pack/{fulfillment.pk}/", {"step": "box", "weight_grams": "400"}).status_code == 302
    assert client.post(f"/wms/pack/{fulfillment.pk}/", {"step": "ship"}).status_code == 302
    fulfillment.refresh_from_db()
    assert fulfillment.status == "shipped" and fulfillment.shipment.weight_grams == 400


@pytest.mark.django_db
def test_the_packing_screen_packs_through_the_same_check(floor):
    """A weight taken before ops dropped the heavy tier is caught by packing itself."""
    fulfillment = picked_on_the_floor(floor)
    with transaction.atomic():
        packing.pack_box_set(packing.current_box(fulfillment), weight_grams=25_000, actor=ACTOR)
    RateCardEntry.objects.filter(max_weight_grams=31500).delete()
    with pytest.raises(TooMany, match="Box 1 weighs 25001 g"), transaction.atomic():
        packing.pack_box_set(packing.current_box(fulfillment), weight_grams=25_001, actor=ACTOR)

    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        packing.pack_ship(fulfillment, actor=ACTOR)

    assert (refused.value.status, refused.value.field) == (400, "packages[0].weight_grams")
    assert refused.value.detail.startswith("Package 1 weighs 25000 g: no carrier service takes a parcel over 10000 g.")
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked" and not Package.objects.exists()


@pytest.mark.django_db
def test_a_promised_service_we_do_not_have_does_not_stop_the_screen_shipping(floor):
    fulfillment = picked_on_the_floor(floor)
    Order.objects.filter(pk=fulfillment.order_id).update(promise_option="ship:NOPE")
    fulfillment.refresh_from_db()
    assert packing.promised_service(fulfillment) is None
    Order.objects.filter(pk=fulfillment.order_id).update(promise_option="ship:omnipost-express")
    fulfillment.refresh_from_db()
    assert packing.promised_service(fulfillment) == "omnipost-express"
    with transaction.atomic():
        packing.pack_ship(fulfillment, actor=ACTOR)
    fulfillment.refresh_from_db()
    assert fulfillment.shipment.service.code == "omnipost-express"
