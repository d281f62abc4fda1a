"""Order capture refuses what it cannot store or would get wrong, with a 400 naming the field,
and changes nothing but the archived payload, marked rejected: a total larger than an order
holds, a pickup order without a pickup location (and a pickup location on a shipped order), a
currency or a country that is not an ISO code, a negative price, an email longer than its
column. The OpenAPI schema states the same limits."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command

from channels_sync.models import InboundMessage
from inventory.models import Reservation, StockLevel, StockMovement
from omnichannel.errors import ValidationFailed
from omnichannel.idempotency import MAX_KEY
from omnichannel.models import OutboxEvent
from orders.models import Customer, Order, OrderLine
from orders.services import ChannelContext, LineInput, OrderInput, order_place
from orders.services.placement import MAX_LINES, MAX_TOTAL
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot():
    """Everything a refused order must leave as it was."""
    return (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(),
            StockMovement.objects.count(), Reservation.objects.count(), OutboxEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")))


def refused(client, body, field, status=400):
    """POST the body; assert it is refused on `field`, nothing is written and the payload is
    archived as rejected. Returns the answer's JSON."""
    before = snapshot()
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="refused-1")
    assert response.status_code == status, response.content
    answer = response.json()
    assert answer["field"] == field, answer
    assert answer["detail"]
    assert snapshot() == before
    message = InboundMessage.objects.get()
    assert message.status == "rejected" and message.payload == body and message.order_number == ""
    return answer


# --- the order's total ---------------------------------------------------------------------


def test_a_total_larger_than_an_order_holds_is_a_400_on_the_lines_not_a_500(network, channel_client):
    body = {"customer": {"email": "eva@example.com"}, "address": {"line1": "Damrak 70", "city": "Amsterdam"},
            "lines": [{"sku": "RUN-BLK-42", "quantity": 50, "unit_price": "9999999999.99"}]}

    answer = refused(channel_client, body, "lines")

    assert answer["code"] == "total_too_large"
    assert answer["max_total"] == "9999999999.99" == str(MAX_TOTAL)
    assert "9999999999.99" in answer["detail"] and "499999999999.50" in answer["detail"]
    assert InboundMessage.objects.get().result == {
        "code": "total_too_large", "detail": answer["detail"], "field": "lines"}


def test_lines_that_each_fit_but_add_up_to_too_much_are_refused(network, channel_client):
    body = ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 1))
    for line in body["lines"]:
        line["unit_price"] = "5000000000.00"

    assert refused(channel_client, body, "lines")["code"] == "total_too_large"


def test_catalogue_prices_count_towards_the_total_too(network, channel_client):
    network["shirt"].price = Decimal("9999999999.99")
    network["shirt"].save(update_fields=["price"])
    body = ship_order(("TEE-WHT-M", 2))
    del body["lines"][0]["unit_price"]

    assert refused(channel_client, body, "lines")["code"] == "total_too_large"


def test_a_total_of_exactly_the_limit_is_placed(network, channel_client):
    body = ship_order(("RUN-BLK-42", 1))
    body["lines"][0]["unit_price"] = "9999999999.99"

    response = channel_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["total_amount"] == "9999999999.99"
    assert Order.objects.get().total_amount == MAX_TOTAL


# --- pickup location -----------------------------------------------------------------------


@pytest.mark.parametrize("pickup_location", ["omitted", None])
def test_a_pickup_order_without_a_pickup_location_is_refused_on_that_field(network, channel_client,
                                                                           pickup_location):
    body = pickup_order("ST1", ("TEE-WHT-M", 1))
    if pickup_location == "omitted":
        del body["pickup_location"]
    else:
        body["pickup_location"] = pickup_location

    answer = refused(channel_client, body, "pickup_location")

    assert answer["code"] == "required"
    assert "required for pickup" in answer["detail"].lower()
    assert "None" not in answer["detail"]


@pytest.mark.parametrize("method", ["ship", "same_day"])
def test_a_pickup_location_on_a_delivered_order_is_refused_not_dropped(network, channel_client, method):
    body = ship_order(("TEE-WHT-M", 1), method=method)
    body["pickup_location"] = "ST1"

    answer = refused(channel_client, body, "pickup_location")

    assert "only for pickup orders" in answer["detail"].lower()


def test_a_pickup_location_forgotten_with_the_delivery_method_is_refused(network, channel_client):
    """The storefront meant click & collect but left delivery_method out (the default: ship):
    refused, rather than shipped to an address it may not even have sent."""
    body = pickup_order("ST1", ("TEE-WHT-M", 1))
    del body["delivery_method"]

    refused(channel_client, body, "pickup_location")


def test_a_pickup_order_with_its_location_is_still_placed(network, channel_client):
    response = channel_client.post("/api/v1/orders/", pickup_order("ST2", ("TEE-WHT-M", 1)), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["pickup_location"] == "ST2"


# --- currency and country ------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["€", "XXX", "XAU", "ABC", "EU", "eu", "E1R", "", 7])
def test_a_currency_that_is_not_an_iso_4217_code_is_refused(network, channel_client, currency):
    body = ship_order(("TEE-WHT-M", 1))
    body["currency"] = currency

    refused(channel_client, body, "currency")


@pytest.mark.parametrize(("given", "stored"), [("usd", "USD"), (" gbp ", "GBP"), ("EUR", "EUR"), ("Chf", "CHF")])
def test_a_currency_code_in_any_case_is_stored_upper_case(network, channel_client, given, stored):
    body = ship_order(("TEE-WHT-M", 1))
    body["currency"] = given

    response = channel_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == stored
    assert Order.objects.get().currency == stored


def test_a_missing_currency_is_eur(network, channel_client):
    response = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json")

    assert response.json()["currency"] == "EUR"


@pytest.mark.parametrize("country", ["ZZ", "zz", "UK", "EU", "XX", "AA", "N1"])
def test_a_country_that_is_not_an_iso_3166_code_is_refused(network, channel_client, country):
    body = ship_order(("TEE-WHT-M", 1))
    body["address"]["country"] = country

    answer = refused(channel_client, body, "address.country")

    assert "ISO 3166-1" in answer["detail"]


@pytest.mark.parametrize(("given", "stored"), [("gb", "GB"), ("DE", "DE"), ("xk", "XK"), ("aq", "AQ")])
def test_every_iso_country_code_is_accepted(network, channel_client, given, stored):
    body = ship_order(("TEE-WHT-M", 1))
    body["address"]["country"] = given

    response = channel_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert Order.objects.get().ship_country == stored


# --- prices, lines, email ------------------------------------------------------------------


@pytest.mark.parametrize("price", ["-1.00", "-0.01", -5, "-9999999999.99"])
def test_a_negative_unit_price_is_refused(network, channel_client, price):
    body = ship_order(("TEE-WHT-M", 1))
    body["lines"][0]["unit_price"] = price

    answer = refused(channel_client, body, "lines[0].unit_price")

    assert "greater than or equal to 0" in answer["detail"]


@pytest.mark.parametrize("price", ["-0.00", "-0", -0.0])
def test_a_minus_zero_price_is_a_free_line_of_zero(network, channel_client, price):
    body = ship_order(("TEE-WHT-M", 1))
    body["lines"][0]["unit_price"] = price

    response = channel_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["unit_price"] == "0.00"
    assert response.json()["total_amount"] == "0.00"
    assert channel_client.get(f"/api/v1/orders/{response.json()['number']}/").json()["lines"][0]["unit_price"] == "0.00"


def test_more_lines_than_an_order_takes_are_refused(network, channel_client):
    body = ship_order(*[("TEE-WHT-M", 1)] * (MAX_LINES + 1))

    answer = refused(channel_client, body, "lines")

    assert str(MAX_LINES) in answer["detail"]


def test_an_email_longer_than_its_column_is_refused_not_a_500(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["customer"]["email"] = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".nl"  # valid form, 312 characters

    refused(channel_client, body, "customer.email")


# --- other callers of the service get the same answers ---------------------------------------


def _order(**changes) -> OrderInput:
    fields = {"delivery_method": "pickup", "pickup_location": "ST1", "email": "sam@example.com",
              "lines": [LineInput("TEE-WHT-M", 1)], **changes}
    return OrderInput(**fields)


@pytest.mark.parametrize(("changes", "field"), [
    ({"pickup_location": None}, "pickup_location"),
    ({"delivery_method": "ship", "pickup_location": "ST1"}, "pickup_location"),
    ({"currency": "XXX"}, "currency"),
    ({"lines": [LineInput("TEE-WHT-M", 2, Decimal("9000000000.00"))]}, "lines"),
    ({"lines": [LineInput("TEE-WHT-M", 1, Decimal("-1.00"))]}, "lines[0].unit_price"),
    ({"lines": [LineInput("TEE-WHT-M", 1), LineInput("TEE-WHT-M", 1, Decimal("1E+10"))]}, "lines[1].unit_price"),
])
def test_order_place_itself_refuses_what_the_api_refuses(network, web_channel, changes, field):
    before = snapshot()

    with pytest.raises(ValidationFailed) as refusal:
        order_place(_order(**changes), ChannelContext(channel_id=web_channel.pk, actor="test"))

    assert refusal.value.field == field
    assert snapshot() == before


# --- the schema says the same ----------------------------------------------------------------


def test_the_schema_states_the_limits_the_api_enforces(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    order_in = schema["components"]["schemas"]["OrderIn"]["properties"]
    line_in = schema["components"]["schemas"]["LineIn"]["properties"]
    post = schema["paths"]["/api/v1/orders/"]["post"]

    assert (order_in["lines"]["minItems"], order_in["lines"]["maxItems"]) == (1, MAX_LINES)
    assert not line_in["unit_price"]["pattern"].startswith("^-")
    assert "at least 0" in line_in["unit_price"]["description"]
    assert "email or a phone" in order_in["customer"]["description"]
    assert "required for `pickup`" in order_in["pickup_location"]["description"]
    assert "ISO 4217" in order_in["currency"]["description"]
    (key,) = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["schema"]["maxLength"] == MAX_KEY == 255
