"""The OpenAPI schema behind /api/docs/: it builds without warnings, documents how to
authenticate, shows the list endpoints' filters, takes JSON bodies only and documents the
error answers."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_builds_without_a_warning_and_documents_the_token(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(path))  # raises on any warning
    schema = yaml.safe_load(path.read_text())
    token = schema["components"]["securitySchemes"]["ApiToken"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    orders = schema["paths"]["/api/v1/orders/"]
    assert {"ApiToken": []} in orders["post"]["security"]
    assert {"status", "placed_after", "limit"} <= {p["name"] for p in orders["get"]["parameters"]}
    assert "OrderStatusEnum" in schema["components"]["schemas"]


def test_the_docs_and_the_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    response = client.get("/api/schema/")
    assert response.status_code == 200 and b"ApiToken" in response.content


def _schema(tmp_path) -> dict:
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def _operations(schema):
    for route, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield route, method, operation


def test_nested_request_bodies_are_json_only(tmp_path):
    """A form could not carry the nested inputs (an order's lines, a pack's packages, a
    rejection's counts, a rule set's cost model) and silently dropped them: those read and
    document JSON only; flat inputs may also come as a form; the CSV import takes a file."""
    schema = _schema(tmp_path)
    bodies = {(route, method): sorted(operation["requestBody"]["content"])
              for route, method, operation in _operations(schema) if "requestBody" in operation}

    assert bodies.pop(("/api/v1/stock/import/", "post")) == ["multipart/form-data", "text/csv"]
    for route in ("/api/v1/orders/", "/api/v1/channels/{code}/webhook/orders/", "/api/v1/fulfillments/{id}/pack/",
                  "/api/v1/fulfillments/{id}/reject/", "/api/v1/routing/rule-sets/"):
        assert bodies.pop((route, "post")) == ["application/json"], route
    assert bodies and set(map(tuple, bodies.values())) == {
        ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")}


def test_no_component_is_described_by_an_internal_note(tmp_path):
    """omnichannel.api.SharedFields' notes were every sharing serializer's description."""
    schema = _schema(tmp_path)
    descriptions = {name: component.get("description", "")
                    for name, component in schema["components"]["schemas"].items()}

    assert not [name for name, text in descriptions.items() if "Mixin" in text or "deep-copied" in text]


def test_every_operation_documents_its_errors_in_the_error_shape(tmp_path):
    schema = _schema(tmp_path)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail", "field"]
    assert error["properties"]["field"]["nullable"] is True
    assert error["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ErrorItem"}

    def statuses(route, method):
        return sorted(code for code in schema["paths"][route][method]["responses"] if code >= "400")

    assert statuses("/api/v1/fulfillments/{id}/accept/", "post") == ["400", "401", "403", "404", "409", "422"]
    assert statuses("/api/v1/orders/", "post") == ["400", "401", "403", "409", "422"]
    assert statuses("/api/v1/orders/", "get") == ["400", "401", "403"]  # a filter can be bad
    assert statuses("/api/v1/orders/{number}/", "get") == ["401", "403", "404"]
    for route, method, operation in _operations(schema):
        errors = {code: response for code, response in operation["responses"].items() if code >= "400"}
        assert {"401", "403"} <= set(errors), (route, method)
        for response in errors.values():
            assert response["description"]
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_an_orders_customer_address_and_fulfillment_lines_have_typed_shapes(tmp_path):
    """Storefronts generate client types from the schema: the parts built by hand are typed."""
    components = _schema(tmp_path)["components"]["schemas"]
    order = components["OrderOut"]["properties"]
    assert order["customer"]["allOf"] == [{"$ref": "#/components/schemas/ContactOut"}]
    assert set(components["ContactOut"]["properties"]) == {"email", "phone", "name"}
    address = order["address"]
    assert address["allOf"] == [{"$ref": "#/components/schemas/AddressOut"}] and address["nullable"] is True
    assert {"line1", "postal_code", "country", "latitude", "longitude"} <= set(components["AddressOut"]["properties"])
    lines = components["FulfillmentOut"]["properties"]["lines"]
    assert lines["type"] == "array" and lines["items"]["$ref"].endswith("/FulfillmentLineOut")


def test_shipment_and_tracking_statuses_are_enums(tmp_path):
    components = _schema(tmp_path)["components"]["schemas"]
    for name, field in (("ShipmentOut", "status"), ("TrackingEventOut", "status"),
                        ("TrackingEventOut", "shipment_status")):
        prop = components[name]["properties"][field]
        ref = prop.get("$ref") or prop["allOf"][0]["$ref"]
        assert "delivered" in components[ref.rsplit("/", 1)[1]]["enum"], (name, field)
