"""Shipping a packed fulfillment: a service code that names nothing is bad input (400 on
`service_code`, the codes that would do listed), a known service that cannot be used is a
business rule (422 saying why), and an address without coordinates (storefronts rarely send
them) still ships: the built-in carrier charges its farthest zone, and says so."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.models import StockLevel
from orders.models import Order
from tests.payloads import ship_order
from transport.carriers import Address, Parcel, RateRequest, ShipmentRequest
from transport.carriers.builtin import BuiltinCarrier, BuiltinCarrierConfig, RateCardEntry, ServiceConfig
from transport.carriers.builtin.rating import parcel_price, parcel_price_unknown_distance
from transport.models import Carrier, CarrierService, Shipment

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def without_coordinates(body: dict) -> dict:
    del body["address"]["latitude"], body["address"]["longitude"]
    return body


def packed(picker, fulfillment, *weights: int) -> str:
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    for action in ["accept", "start-picking", "picked"]:
        assert picker.post(f"{base}/{action}/").status_code == 200
    response = picker.post(f"{base}/pack/", {"packages": [{"weight_grams": w} for w in weights]}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "packed", response.content
    return base


@pytest.fixture
def ready_to_ship(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    return fulfillment, picker, packed(picker, fulfillment, 900)


def unchanged(fulfillment, levels_before) -> None:
    fulfillment.refresh_from_db()
    assert fulfillment.status == "packed" and fulfillment.shipment_id is None
    assert not Shipment.objects.exists()
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")) == levels_before


# --- the service code -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service_code", "shown"), [("NOPE", "'NOPE'"), (123, "'123'"), ("omnipost", "'omnipost'")])
def test_an_unknown_service_code_is_a_400_listing_the_known_ones(ready_to_ship, service_code, shown):
    fulfillment, picker, base = ready_to_ship
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))

    response = picker.post(f"{base}/ship/", {"service_code": service_code}, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "unknown_service", "field": "service_code",
        "detail": f"Unknown service {shown} (known: omnipost-express, omnipost-standard)."}
    unchanged(fulfillment, levels)

    # The packer corrects the typo.
    shipped = picker.post(f"{base}/ship/", {"service_code": "omnipost-express"}, format="json")
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["shipment"]["service"] == "omnipost-express"


def test_a_known_service_switched_off_stays_a_422_saying_so(ready_to_ship):
    fulfillment, picker, base = ready_to_ship
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))
    CarrierService.objects.filter(code="omnipost-express").update(is_active=False)

    response = picker.post(f"{base}/ship/", {"service_code": "omnipost-express"}, format="json")

    assert response.status_code == 422, response.content
    assert response.json() == {"code": "no_carrier_service", "field": "service_code",
                               "detail": "Service 'omnipost-express' is not active."}
    unchanged(fulfillment, levels)
    unknown = picker.post(f"{base}/ship/", {"service_code": "NOPE"}, format="json")
    assert unknown.json()["detail"] == "Unknown service 'NOPE' (known: omnipost-standard)."


def test_a_service_of_an_inactive_carrier_or_of_the_other_kind_is_a_422_saying_why(ready_to_ship):
    fulfillment, picker, base = ready_to_ship
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))

    same_day = picker.post(f"{base}/ship/", {"service_code": "omnipost-sameday"}, format="json")
    assert same_day.status_code == 422, same_day.content
    assert same_day.json()["detail"] == ("Service 'omnipost-sameday' is a same-day service; this shipment needs a "
                                         "regular (not same-day) one.")
    Carrier.objects.update(is_active=False)
    off = picker.post(f"{base}/ship/", {"service_code": "omnipost-standard"}, format="json")
    assert off.status_code == 422
    assert off.json()["detail"] == "Service 'omnipost-standard': its carrier OmniPost is not active."
    unknown = picker.post(f"{base}/ship/", {"service_code": "NOPE"}, format="json")
    assert (unknown.status_code, unknown.json()["detail"]) == (
        400, "Unknown service 'NOPE' (there is no active regular (not same-day) service).")
    unchanged(fulfillment, levels)


# --- an address without coordinates -----------------------------------------------------------------------


def test_an_order_without_coordinates_ships_priced_at_the_farthest_zone(network, channel_client,
                                                                        picker_client_for, ops_client):
    """Placed without latitude/longitude, routed, picked, packed: it used to stop at `packed` (422
    "origin and destination need lat/lng"). Now it ships with a label and a tracking number, at
    the price of the rate card's farthest zone (1000 km: 4.95 + 3), never less than the distance
    would have cost, and the shipment says how it was priced."""
    order = place(channel_client, without_coordinates(ship_order(("TEE-WHT-M", 1))))
    assert (order.ship_latitude, order.ship_longitude) == (None, None)
    fulfillment = order.fulfillments.get()
    assert fulfillment.status == "pending"
    location = fulfillment.location
    level = StockLevel.objects.get(sku=network["shirt"], location=location)
    on_hand = level.on_hand
    picker = picker_client_for(location)
    base = packed(picker, fulfillment, 900)

    response = picker.post(f"{base}/ship/", {}, format="json")

    assert response.status_code == 200, response.content
    shipped = response.json()
    assert shipped["status"] == "shipped"
    assert shipped["shipment"]["tracking_number"].startswith("OMNI")
    assert (shipped["shipment"]["service"], shipped["shipment"]["cost"]) == ("omnipost-standard", "7.95")
    shipment = Shipment.objects.get()
    assert (shipment.pricing_basis, shipment.cost) == ("farthest_zone", Decimal("7.95"))
    assert shipment.destination["lat"] is None
    label = picker.get(shipped["shipment"]["label_url"])
    assert label.status_code == 200 and b"".join(label).startswith(b"%PDF")
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (on_hand - 1, 0)
    delivered = ops_client.post(f"/api/v1/shipments/{shipment.tracking_number}/events/", {"status": "delivered"},
                                format="json")
    assert delivered.status_code == 201
    order.refresh_from_db()
    assert order.status == "delivered"

    # The same parcel to the same street with its coordinates costs the nearest zone's price.
    with_coordinates = place(channel_client, ship_order(("TEE-WHT-M", 1), email="ann@example.com"))
    other = with_coordinates.fulfillments.get()
    shipped_too = picker_client_for(other.location) if other.location != location else picker
    assert shipped_too.post(f"{packed(shipped_too, other, 900)}/ship/", {}, format="json").json()["shipment"][
        "cost"] == "4.95"
    assert Shipment.objects.get(reference=other.number).pricing_basis == "distance"


def test_a_same_day_order_without_coordinates_is_priced_at_the_couriers_range(network, channel_client,
                                                                             picker_client_for):
    """The same-day courier goes 30 km at most: unmeasured, it is charged its 50 km zone (the one
    covering its range), not the card's 1000 km one it never drives."""
    order = place(channel_client, without_coordinates(ship_order(("RUN-BLK-42", 1), method="same_day")))
    fulfillment = order.fulfillments.get()
    assert fulfillment.location == network["ST1"]  # the store that offers same day
    picker = picker_client_for(fulfillment.location)

    response = picker.post(f"{packed(picker, fulfillment, 1200)}/ship/", {}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["shipment"]["service"], response.json()["shipment"]["cost"]) == (
        "omnipost-sameday", "9.95")
    assert Shipment.objects.get().pricing_basis == "farthest_zone"


# --- the rule, on the adapter alone -----------------------------------------------------------------------


ORIGIN = Address("Omni DC", "Dock 1", "Amsterdam", "1000AA", "NL", lat=52.4, lng=4.8)
NOWHERE = Address("Ann", "Damrak 70", "Amsterdam", "1012LM", "NL")


def card(*cells: tuple[int, int, str]) -> tuple[RateCardEntry, ...]:
    return tuple(RateCardEntry(w, Decimal(km), Decimal(p)) for w, km, p in cells)


def test_each_parcel_is_charged_at_the_farthest_zone_that_carries_its_weight():
    sparse = card((1000, 10, "4"), (1000, 200, "8"), (5000, 50, "9"), (20000, 20, "12"))
    assert parcel_price_unknown_distance(sparse, 800) == Decimal("8")  # the 200 km zone
    assert parcel_price_unknown_distance(sparse, 4000) == Decimal("9")  # 50 km: the farthest that takes 4 kg
    assert parcel_price_unknown_distance(sparse, 15000) == Decimal("12")
    assert parcel_price_unknown_distance(sparse, 800, Decimal("30")) == Decimal("8")  # 30 km: in the 200 km zone
    assert parcel_price_unknown_distance(sparse, 800, Decimal("5")) == Decimal("4")


def test_a_booking_without_coordinates_says_how_it_was_priced():
    service = ServiceConfig("std", "Standard", 2, "17:00", card((2000, 50, "4.95"), (2000, 1000, "7.95")))
    carrier = BuiltinCarrier(BuiltinCarrierConfig("omni", "Omni", (service,)))
    booked = carrier.create_shipment(ShipmentRequest("std", ORIGIN, NOWHERE, (Parcel(900), Parcel(1900))))
    assert (booked.cost, booked.pricing_basis, booked.distance_km) == (Decimal("15.90"), "farthest_zone", None)
    measured = carrier.rate(RateRequest(ORIGIN, ORIGIN, (Parcel(900),)))[0]
    assert (measured.amount, measured.pricing_basis, measured.distance_km) == (Decimal("4.95"), "distance",
                                                                               Decimal("0.000"))


GRID = card(*[(w, km, str(1 + i + j * 2)) for i, w in enumerate([1000, 5000, 31500])
              for j, km in enumerate([10, 50, 1000])])


@settings(max_examples=200, deadline=None)
@given(grams=st.integers(1, 31500), km=st.decimals(0, 1000, places=3),
       max_km=st.one_of(st.none(), st.decimals(0, 1200, places=1)))
def test_the_farthest_zone_never_charges_less_than_the_distance_would(grams, km, max_km):
    if max_km is not None and km > max_km:
        return  # out of the service's range: not delivered at all
    assert parcel_price_unknown_distance(GRID, grams, max_km) >= parcel_price(GRID, grams, km)
