"""GET /api/v1/availability/nearby/: pickup locations holding the SKU, nearest first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Location, Reservation, StockLevel
from inventory.services import ReserveRequest, stock_reserve
from omnichannel.geo import haversine_km

pytestmark = pytest.mark.django_db

DAM = (52.3731, 4.8926)
SHOE = "RUN-BLK-42"
URL = "/api/v1/availability/nearby/"


def km(lat, lng, origin=DAM):
    return round(haversine_km(origin[0], origin[1], lat, lng), 2)


def test_pickup_stores_holding_the_sku_nearest_first_with_distance(network, ops_client):
    response = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1], "radius_km": 10})
    assert response.status_code == 200
    body = response.json()
    # WH1 (8.6 km) holds 20 but cannot do pickup; ST9 is 170 km away and cannot do pickup either
    assert [(x["code"], x["available"], x["distance_km"]) for x in body["locations"]] == [
        ("ST1", 3, km(52.3702, 4.8910)), ("ST2", 2, km(52.3530, 4.8950))]
    assert body["locations"][0]["distance_km"] == 0.34
    assert body["locations"][0] == {
        "code": "ST1", "name": "Kalverstraat", "kind": "store", "available": 3,
        "capabilities": ["ship", "pickup", "same_day", "returns"], "city": "Amsterdam", "postal_code": "1000AA",
        "latitude": 52.3702, "longitude": 4.891, "distance_km": 0.34}
    assert (body["sku"], body["quantity"], body["radius_km"]) == (SHOE, 1, 10.0)
    assert body["origin"] == {"latitude": DAM[0], "longitude": DAM[1]}


def test_the_radius_and_the_quantity_wanted_narrow_the_list(network, ops_client):
    within_1km = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1], "radius_km": 1}).json()
    assert [x["code"] for x in within_1km["locations"]] == ["ST1"]
    three = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1], "quantity": 3}).json()
    assert [x["code"] for x in three["locations"]] == ["ST1"]  # ST2 holds only 2
    four = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1], "quantity": 4}).json()
    assert four["locations"] == []


def test_nearest_first_from_another_origin_and_limit(network, ops_client):
    de_pijp = (52.3540, 4.8960)
    body = ops_client.get(URL, {"sku": SHOE, "lat": de_pijp[0], "lng": de_pijp[1]}).json()
    assert [x["code"] for x in body["locations"]] == ["ST2", "ST1"]
    limited = ops_client.get(URL, {"sku": SHOE, "lat": de_pijp[0], "lng": de_pijp[1], "limit": 1}).json()
    assert [x["code"] for x in limited["locations"]] == ["ST2"]


def test_a_postal_code_of_a_known_location_is_the_origin(network, ops_client):
    Location.objects.filter(pk=network["ST2"].pk).update(postal_code="1072 LG")
    body = ops_client.get(URL, {"sku": SHOE, "postal_code": "1072lg"}).json()
    assert body["origin"] == {"latitude": 52.3530, "longitude": 4.8950, "postal_code": "1072 LG"}
    assert [(x["code"], x["distance_km"]) for x in body["locations"]] == [
        ("ST2", 0.0), ("ST1", km(52.3702, 4.8910, origin=(52.3530, 4.8950)))]
    unknown = ops_client.get(URL, {"sku": SHOE, "postal_code": "9999 ZZ"})
    assert unknown.status_code == 400
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_postal_code", "postal_code")


def test_a_channel_sees_only_its_feeding_pickup_locations_after_its_buffer(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["ST2"], network["WH1"]])
    web_channel.buffer_units = 1
    web_channel.save()
    body = channel_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1]}).json()
    assert [(x["code"], x["available"]) for x in body["locations"]] == [("ST2", 1)]  # 2 - 1; ST1 does not feed web
    web_channel.buffer_percent = Decimal("50")  # (2 - 1) * 0.5 -> 0
    web_channel.save()
    assert channel_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1]}).json()["locations"] == []


def test_a_closed_store_is_not_offered(network, ops_client):
    Location.objects.filter(pk=network["ST1"].pk).update(is_active=False)
    body = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1]}).json()
    assert [x["code"] for x in body["locations"]] == ["ST2"]


@pytest.mark.parametrize(("params", "field"), [
    ({"lat": 91, "lng": 4.9}, "lat"),
    ({"lat": 52.3, "lng": -181}, "lng"),
    ({"lat": "north", "lng": 4.9}, "lat"),
    ({"lat": "nan", "lng": 4.9}, "lat"),
    ({"lat": 52.3, "lng": "inf"}, "lng"),
    ({"lat": 52.3}, "lng"),
    ({"lng": 4.9}, "lat"),
    ({}, "lat"),
    ({"lat": 52.3, "lng": 4.9, "postal_code": "1012AB"}, "postal_code"),
    ({"lat": 52.3, "lng": 4.9, "radius_km": 0}, "radius_km"),
    ({"lat": 52.3, "lng": 4.9, "radius_km": -5}, "radius_km"),
    ({"lat": 52.3, "lng": 4.9, "radius_km": "nan"}, "radius_km"),
    ({"lat": 52.3, "lng": 4.9, "radius_km": 501}, "radius_km"),
    ({"lat": 52.3, "lng": 4.9, "quantity": 0}, "quantity"),
    ({"lat": 52.3, "lng": 4.9, "limit": 101}, "limit"),
])
def test_bad_coordinates_radius_or_quantity_are_a_400_naming_the_field(network, ops_client, params, field):
    response = ops_client.get(URL, {"sku": SHOE, **params})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid", field)


def test_an_unknown_sku_is_a_400(network, ops_client):
    response = ops_client.get(URL, {"sku": "NOPE", "lat": DAM[0], "lng": DAM[1]})
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (400, "unknown_sku", "sku")


def test_units_of_an_expired_checkout_hold_count_at_once(network, ops_client):
    def hold(location, quantity, minutes):
        level = StockLevel.objects.get(sku=network["shoe"], location=network[location])
        stock_reserve([ReserveRequest(level.pk, quantity, f"cart-{location}")], reference_type=Reservation.HOLD,
                      expires_at=timezone.now() + dt.timedelta(minutes=minutes))

    hold("ST1", 1, 10)  # live: ST1 keeps 2 of 3
    hold("ST2", 2, -1)  # expired, not yet released: ST2's 2 units are available again
    body = ops_client.get(URL, {"sku": SHOE, "lat": DAM[0], "lng": DAM[1], "quantity": 2}).json()
    assert [(x["code"], x["available"]) for x in body["locations"]] == [("ST1", 2), ("ST2", 2)]
