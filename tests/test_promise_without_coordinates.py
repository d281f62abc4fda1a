"""A checkout for an address without coordinates (storefronts rarely send them) is promised
as the built-in carrier prices it (docs/adr/0006): ship options at the farthest zone's
price with a date, no same-day (its range cannot be checked), no pickups; and an order
placed that way is routed, with the decision saying the distance was unknown."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from orders.models import Order
from orders.promise import (
    PromiseLocation,
    PromiseRequest,
    PromiseService,
    promise,
)
from orders.routing import CandidateLocation, CostModel, OrderLine, RoutingOrder, route_order
from orders.routing.explain import UNKNOWN_DISTANCE
from orders.services import promise_service
from orders.services.inputs import AddressInput, ChannelContext, LineInput, OrderInput
from orders.services.placement import order_place
from orders.services.promise_service import promise_options
from orders.services.routing import order_route
from tests.payloads import ship_order
from transport import selectors as transport_selectors
from transport.carriers.base import RateNotAvailable
from transport.carriers.builtin.config import RateCardEntry as ConfigCell
from transport.carriers.builtin.rating import parcel_price_unknown_distance
from transport.models import CarrierService, RateCardEntry

AMS = ZoneInfo("Europe/Amsterdam")
TUESDAY_MORNING = dt.datetime(2026, 12, 1, 10, 0, tzinfo=AMS)
DAMRAK = {"latitude": 52.3760, "longitude": 4.8970}


# --- the promise API --------------------------------------------------------------------------------------


def ask(client, monkeypatch, *, cart=(("RUN-BLK-42", 1),), when=TUESDAY_MORNING, **address) -> dict[str, dict]:
    monkeypatch.setattr(promise_service.timezone, "now", lambda: when)
    body = {"cart": [{"sku": s, "quantity": q} for s, q in cart], **address}
    response = client.post("/api/v1/promise/", body, format="json")
    assert response.status_code == 200, response.content
    return {o["id"]: o for o in response.json()["options"]}


@pytest.mark.django_db(transaction=True)
def test_an_address_without_coordinates_is_offered_ship_options_at_the_farthest_zones_price(
        network, channel_client, monkeypatch):
    """One shoe (600 g): the card's farthest zone is 1000 km, 3.00 above the 50 km one; the
    dates are the services' own (cutoff and transit days), from the earliest location."""
    options = ask(channel_client, monkeypatch)

    assert list(options) == ["ship:omnipost-standard", "ship:omnipost-express"]  # no same-day, no pickup
    standard, express = options["ship:omnipost-standard"], options["ship:omnipost-express"]
    assert (standard["cost"], standard["price_basis"], standard["distance_km"]) == ("7.95", "farthest_zone", None)
    assert (express["cost"], express["price_basis"], express["distance_km"]) == ("10.95", "farthest_zone", None)
    assert (standard["earliest"][:10], standard["latest"][:10]) == ("2026-12-03", "2026-12-04")
    assert (express["earliest"][:10], express["latest"][:10]) == ("2026-12-02", "2026-12-03")
    assert standard["kind"] == express["kind"] == "ship"
    assert len(standard["locations"]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_cart_with_coordinates_is_priced_by_distance(network, channel_client, monkeypatch):
    options = ask(channel_client, monkeypatch, **DAMRAK)

    standard = options["ship:omnipost-standard"]
    assert (standard["cost"], standard["price_basis"]) == ("4.95", "distance")
    assert standard["distance_km"] is not None and standard["distance_km"] < 50
    assert options["ship:omnipost-sameday"]["price_basis"] == "distance"
    assert options["pickup:ST1"]["price_basis"] is None  # no carriage to price


@pytest.mark.django_db(transaction=True)
def test_null_coordinates_are_no_coordinates_and_a_heavy_cart_takes_its_tiers_farthest_zone(
        network, channel_client, monkeypatch):
    """Twenty shoes (12 kg, the 31.5 kg tier: 4.95 + 4) at the 1000 km zone (+ 3): 11.95."""
    options = ask(channel_client, monkeypatch, cart=(("RUN-BLK-42", 20),), latitude=None, longitude=None)

    assert {k: (o["cost"], o["price_basis"]) for k, o in options.items()} == {
        "ship:omnipost-standard": ("11.95", "farthest_zone"), "ship:omnipost-express": ("14.95", "farthest_zone")}
    assert options["ship:omnipost-standard"]["locations"] == ["WH1"]  # the only one holding 20


@pytest.mark.django_db(transaction=True)
def test_only_one_coordinate_is_a_clear_400_at_the_api_and_no_coordinates_below_it(
        network, channel_client, monkeypatch):
    for half in ({"latitude": 52.3}, {"longitude": 4.9}):
        response = channel_client.post("/api/v1/promise/", {"cart": [{"sku": "RUN-BLK-42", "quantity": 1}],
                                                            **half}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["field"] in {"latitude", "longitude"}
    # A caller below the API (a channel connector) with half a coordinate is promised as without.
    options = {o.id: o for o in promise_options(cart={"RUN-BLK-42": 1}, lat=52.3, lng=None, now=TUESDAY_MORNING)}
    assert {k: (o.cost, o.price_basis) for k, o in options.items()} == {
        "ship:omnipost-standard": (Decimal("7.95"), "farthest_zone"),
        "ship:omnipost-express": (Decimal("10.95"), "farthest_zone")}


@pytest.mark.django_db
def test_the_schema_documents_the_answer_and_its_price_basis(tmp_path):
    import yaml
    from django.core.management import call_command

    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    answer = schema["paths"]["/api/v1/promise/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    body = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    option = schema["components"]["schemas"][body["properties"]["options"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert "price_basis" in option["properties"] and "price_basis" in option["required"]


# --- an order placed without coordinates ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_order_without_coordinates_is_routed_explained_and_keeps_its_promise(network, channel_client):
    """Distance unknown, every location ships at the same price: the cheapest handling wins
    (De Pijp, 0.50 a parcel against 1.00), the decision says why, and the promised date the
    checkout showed is one the chosen location keeps (the order is not at risk)."""
    network["ST2"].handling_cost_per_order = Decimal("0.50")
    network["ST2"].save()
    cart = {"cart": [{"sku": "TEE-WHT-M", "quantity": 1}]}
    offered = {o["id"]: o for o in channel_client.post("/api/v1/promise/", cart, format="json").json()["options"]}
    standard = offered["ship:omnipost-standard"]
    assert standard["price_basis"] == "farthest_zone"
    body = ship_order(("TEE-WHT-M", 1))
    del body["address"]["latitude"], body["address"]["longitude"]
    body["promise_option"], body["promised_by"] = standard["id"], standard["latest"]

    response = channel_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    assert (order.ship_latitude, order.ship_longitude) == (None, None)
    assert [f.location.code for f in order.fulfillments.all()] == ["ST2"]
    assert (order.at_risk_reason, order.events.filter(type="order.at_risk").exists()) == ("", False)
    decision = order.routing_decisions.get()
    assert (decision.outcome, decision.inputs["destination"]) == ("routed", None)
    by_location = {c["location"]: c for c in decision.candidates}
    assert by_location["ST2"]["reason"] == "chosen"
    assert by_location["ST2"]["detail"] == f"ships TEE-WHT-M x1; {UNKNOWN_DISTANCE}"
    assert {c["km"] for c in decision.candidates} == {None}  # not "0 km": unknown
    assert {(c["location"], c["reason"], c["cost_delta"]) for c in decision.candidates if c["location"] != "ST2"} == {
        ("WH1", "costlier", 0.5), ("ST9", "costlier", 0.5), ("ST1", "no_stock", None)}


@pytest.mark.django_db(transaction=True)
def test_an_order_with_only_a_latitude_is_routed_as_without_coordinates(network, web_channel):
    data = OrderInput(delivery_method="ship", email="eva@example.com", customer_name="Eva de Vries",
                      address=AddressInput(name="Eva", line1="Damrak 70", city="Amsterdam", postal_code="1012LM",
                                           country="NL", latitude=52.376),
                      lines=[LineInput("TEE-WHT-M", 1, Decimal("49.95"))])
    with transaction.atomic():
        order, _ = order_place(data, ChannelContext(channel_id=web_channel.pk, actor="test"))
    with transaction.atomic():
        order_route(order.pk)

    order.refresh_from_db()
    assert (order.ship_latitude, order.ship_longitude) == (52.376, None)
    assert order.fulfillments.count() == 1
    decision = order.routing_decisions.get()
    assert decision.inputs["destination"] is None
    assert UNKNOWN_DISTANCE in next(c["detail"] for c in decision.candidates if c["reason"] == "chosen")


# --- the engines alone ------------------------------------------------------------------------------------


CARD = {  # service -> [(max grams, max km, price)], sparse on purpose
    "std": [(1000, 10, "4"), (1000, 200, "8"), (5000, 50, "9"), (20000, 20, "12")],
    "far": [(2000, 50, "5"), (2000, 99_999, "20")],  # a catch-all zone beyond any distance on earth
    "odd": [(2000, 12.3456, "6")],  # a zone not on a whole metre
    "sd": [(2000, 50, "9")],
}


def price(code: str, grams: int, km: float | None) -> Decimal | None:
    """The engine's price lookup for the engine-alone tests (the real one is
    transport.selectors.price_function, checked against the carrier below)."""
    carrying = [(max_km, Decimal(p)) for g, max_km, p in CARD[code] if g >= grams]
    if km is None and carrying:
        km = max(max_km for max_km, _ in carrying)
    fits = [p for max_km, p in carrying if km is not None and max_km >= km]
    return min(fits) if fits else None


@pytest.mark.django_db
def test_the_promise_prices_an_unknown_distance_as_the_carrier_does(carrier):
    """transport.selectors.price_function(code, grams, None) and the built-in carrier's own
    rule (rating.parcel_price_unknown_distance) give the same price on sparse cards."""
    for code, cells in CARD.items():
        service = CarrierService.objects.create(carrier=carrier, code=code, name=code, transit_days=2,
                                                cutoff_time=time(17))
        for grams, km, cell in cells:
            RateCardEntry.objects.create(service=service, max_weight_grams=grams, max_km=km, price=cell)
    looked_up = transport_selectors.price_function()
    for code, cells in CARD.items():
        card = [ConfigCell(grams, Decimal(str(km)), Decimal(cell)) for grams, km, cell in cells]
        for grams in (800, 1500, 4000, 15000, 25000):
            try:
                charged: Decimal | None = parcel_price_unknown_distance(card, grams)
            except RateNotAvailable:
                charged = None
            assert looked_up(code, grams, None) == charged, (code, grams)
    assert looked_up("std", 800, None) == Decimal("8")  # the 200 km zone
    assert looked_up("std", 15000, None) == Decimal("12")
    assert looked_up("std", 25000, None) is None  # no tier carries it
    assert looked_up("far", 900, None) == Decimal("20")  # the catch-all zone


WAREHOUSE = PromiseLocation(code="WH1", name="Westpoort", lat=52.408, lng=4.780, stock={"SHOE": 50},
                            can_same_day=True, open_weekdays=frozenset({0, 1, 2, 3, 4}), cutoff=time(16))
STORE = PromiseLocation(code="ST1", name="Kalverstraat", lat=52.3702, lng=4.8910, stock={"SHOE": 3},
                        can_pickup=True, can_same_day=True, processing_minutes=60)
SERVICES = [PromiseService("std", "Standard", 2, time(17)),
            PromiseService("sd", "Same day", 0, time(18), is_same_day=True, max_distance_km=30)]


@pytest.mark.parametrize(("lat", "lng"), [(None, None), (52.376, None), (None, 4.897)])
def test_the_engine_without_both_coordinates_offers_ship_at_the_farthest_zone_only(lat, lng):
    request = PromiseRequest(now=datetime(2026, 12, 1, 15, 30, tzinfo=AMS), cart={"SHOE": 1}, weight_grams=900,
                             lat=lat, lng=lng)

    options = promise(request, [WAREHOUSE, STORE], SERVICES, price)

    assert [(o.id, o.kind, o.cost, o.price_basis, o.distance_km) for o in options] == [
        ("ship:std", "ship", Decimal("8"), "farthest_zone", None)]
    # The store is ready at 16:30, before the 17:00 collection, the warehouse at 17:30: the
    # store's parcel arrives a day earlier, at the same price.
    assert (options[0].locations, options[0].earliest.date().isoformat()) == (("ST1",), "2026-12-03")
    # With the address measured, the same-day courier is in range and offered (by distance).
    measured = promise(PromiseRequest(now=request.now, cart={"SHOE": 1}, weight_grams=900, lat=52.376, lng=4.897),
                       [WAREHOUSE, STORE], SERVICES, price)
    assert [(o.kind, o.cost, o.price_basis) for o in measured] == [
        ("ship", Decimal("4"), "distance"), ("same_day", Decimal("9"), "distance"), ("pickup", Decimal("0.00"), None)]


def test_the_router_without_coordinates_has_no_distance_term_and_says_so():
    """Far and near cost the same without a destination: handling decides, km is unknown."""
    near = CandidateLocation("NEAR", 52.37, 4.89, stock={"A": 5}, handling_per_order=1.0)
    far = CandidateLocation("FAR", 50.85, 5.69, stock={"A": 5}, handling_per_order=0.5)
    cost = CostModel(per_shipment=5.0, per_unit_km=0.01)
    line = (OrderLine("A", 1, 500.0),)

    located = route_order(RoutingOrder("o1", line, lat=52.376, lng=4.897), [near, far], cost)
    for lat, lng in [(None, None), (52.376, None)]:
        unknown = route_order(RoutingOrder("o2", line, lat=lat, lng=lng), [near, far], cost)
        assert unknown.locations_used == ("FAR",)
        assert unknown.cost.shipping == 5.0  # the same from everywhere: no km term
        assert [(c.location, c.reason, c.km, c.cost_delta) for c in unknown.candidates] == [
            ("FAR", "chosen", None, None), ("NEAR", "costlier", None, 0.5)]
        assert unknown.candidates[0].detail == f"ships A x1; {UNKNOWN_DISTANCE}"
        myopic = route_order(RoutingOrder("o3", line, lat=lat, lng=lng), [near, far], cost, "myopic")
        assert myopic.candidates[1].detail == "distance unknown: locations earlier in the list were used first"
    assert located.locations_used == ("NEAR",)  # 1.6 km against 170 km: distance decides
    assert all(c.km is not None for c in located.candidates)
