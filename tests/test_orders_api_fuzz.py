"""Whatever a storefront sends to POST /api/v1/orders/, it gets a clear answer, never a
500, and a rejected request changes nothing.

Hypothesis starts from a valid order and breaks it: a field replaced by any JSON value
(escaped NUL and lone surrogates included, as any HTTP client can send them), a field
dropped, an unknown field added, a body that is not an object, an odd Idempotency-Key.
Every POST endpoint gets the same treatment, and every GET any query string.

    FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_orders_api_fuzz.py   # a deeper search"""

from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inventory.checks import inventory_violations
from inventory.models import Reservation, StockLevel, StockMovement
from omnichannel.models import OutboxEvent
from orders.models import Customer, Order
from tests.payloads import json_paths, pickup_order, ship_order

pytestmark = pytest.mark.django_db

# FUZZ_EXAMPLES=5000 searches deeper than the suite's default (each test scales it).
SCALE = float(os.environ.get("FUZZ_EXAMPLES", "300")) / 300

NASTY_TEXT = st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e", "ß" * 300, "9" * 400,
                              "NaN", "-1", "1e309", "0x10", "<script>", "RUN-BLK-42\n", "' OR 1=1 --",
                              "2026-02-30T25:61:00Z", "ST1", "pickup", "ship", "same_day"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), NASTY_TEXT, st.text(max_size=40))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)


def _mutate(draw, base):
    """The base body, broken 1-3 times: a value replaced, a key dropped, an unknown key added."""
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not isinstance(body, dict):
            break
        path = draw(st.sampled_from(list(json_paths(body))))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if not path:
            if action == "replace":
                body = draw(JSON)
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(JSON)
    return body


@st.composite
def broken_bodies(draw):
    return _mutate(draw, draw(st.sampled_from([
        ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 2)),
        ship_order(("8712345000017", 1), method="same_day"),
        pickup_order("ST1", ("RUN-BLK-42", 1)),
    ])))


KEYS = st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=400))


def _state():
    return (Order.objects.count(), Customer.objects.count(), StockMovement.objects.count(),
            Reservation.objects.count(), OutboxEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")))


def _reasons(error) -> list:
    """What a 400 says is wrong: its `errors` (field and reason each) or its `field`."""
    return list(error.get("errors") or []) or ([error["field"]] if error.get("field") else [])


@settings(max_examples=round(150 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=broken_bodies(), key=KEYS)
def test_any_order_body_gets_a_clear_answer_and_a_rejection_changes_nothing(network, channel_client, body, key):
    before = _state()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    response = channel_client.post("/api/v1/orders/", data=json.dumps(body), content_type="application/json",
                                   **headers)

    event(f"{response.status_code}")
    assert response.status_code in (200, 201, 400, 409), (response.status_code, response.content[:500])
    answer = response.json()
    if response.status_code in (200, 201):
        assert answer["number"]
    else:
        assert answer["detail"], answer
        if response.status_code == 400:
            assert _reasons(answer), answer  # a 400 says what is wrong, and where
        assert _state() == before, "a rejected order changed something"
    assert inventory_violations() == []


@pytest.mark.parametrize("raw, content_type", [
    (b"{", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b'{"lines": [}', "application/json"),
    (b"lines=1", "application/x-www-form-urlencoded"),
    (b"", "application/json"),
    (b"null", "application/json"),
    (b'"just a string"', "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"a": NaN}', "application/json"),
    (b"<order/>", "application/xml"),
])
def test_a_body_that_is_not_an_order_object_is_a_400_or_415(network, channel_client, raw, content_type):
    before = _state()
    response = channel_client.generic("POST", "/api/v1/orders/", raw, content_type=content_type)
    assert response.status_code in (400, 415), (response.status_code, response.content[:300])
    assert response.json()["detail"]
    assert _state() == before


# --- Every POST endpoint, with any body --------------------------------------------------

FIELDS = ["sku", "skus", "location", "from_location", "to_location", "into", "quantity", "delta", "counted",
          "counts", "reason", "note", "lines", "items", "packages", "weight_grams", "code", "service_code",
          "status", "occurred_at", "channel", "cart_id", "minutes", "external_id", "customer", "address",
          "delivery_method", "pickup_location", "destination", "latitude", "longitude", "radius_km",
          "strategy", "rules", "name", "reference", "unit_price", "bin", "tote", "picked", "expected",
          "received_quantity", "supplier", "batch_size", "max_shipments", "rows", "source", "value", "kind"]
PLAUSIBLE = st.one_of(SCALARS, st.sampled_from(["RUN-BLK-42", "TEE-WHT-M", "WH1", "ST1", "ST2", "damaged", 1, 2,
                                                 0, -1, 10 ** 9]))
FIELD_VALUES = st.recursive(PLAUSIBLE, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)), max_leaves=10)
ANY_BODY = st.one_of(st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUES, max_size=6), JSON)

ENDPOINTS = [  # (path, who): {order}, {fulfillment} and {tracking} are filled in from a real order
    ("/api/v1/orders/{order}/cancel/", "channel"), ("/api/v1/orders/{order}/reroute/", "ops"),
    ("/api/v1/promise/", "channel"), ("/api/v1/availability/", "channel"), ("/api/v1/holds/", "channel"),
    *((f"/api/v1/fulfillments/{{fulfillment}}/{action}/", "ops") for action in (
        "accept", "reject", "start-picking", "picked", "pack", "ship", "ready-for-pickup", "collect")),
    ("/api/v1/shipments/{tracking}/events/", "ops"),
    *((f"/api/v1/stock/{action}/", "ops") for action in ("receive", "adjust", "move", "count", "set")),
    ("/api/v1/transfers/", "ops"), ("/api/v1/transfers/T-1/ship/", "ops"), ("/api/v1/pos/sales/", "pos"),
    ("/api/v1/routing/rule-sets/", "ops"), ("/api/v1/routing/rule-sets/1/simulate/", "ops"),
    ("/api/v1/replenishment/transfers/", "ops"), ("/api/v1/warehouse/waves/", "ops"),
    ("/api/v1/warehouse/receipts/", "ops"),
]


@pytest.fixture
def placed(network, channel_client):
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")
    assert response.status_code == 201
    order = response.json()
    fulfillment = order["fulfillments"][0]["id"] if order["fulfillments"] else 0
    return {"order": order["number"], "fulfillment": fulfillment, "tracking": "NOPE123"}


@pytest.fixture
def pos_client(network):
    from channels_sync.tokens import token_issue
    from tests import factories
    from tests.conftest import client_with_token

    pos = factories.ChannelFactory(code="pos", name="Store tills", kind="pos")
    return client_with_token(token_issue(name="pos", channel=pos)[1])


@settings(max_examples=round(300 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), body=ANY_BODY)
def test_no_post_endpoint_answers_500_to_any_json_body(placed, channel_client, ops_client, pos_client, endpoint,
                                                       body):
    path, who = endpoint
    client = {"channel": channel_client, "ops": ops_client, "pos": pos_client}[who]
    response = client.post(path.format(**placed), data=json.dumps(body), content_type="application/json")
    event(f"{response.status_code}")  # `--hypothesis-show-statistics` shows how deep the bodies get
    assert response.status_code < 500, (path, body, response.status_code, response.content[:500])
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert response.json()["detail"], response.content[:300]
    assert inventory_violations() == []


VALID = [  # (path, who, a body the endpoint accepts): each is broken by _mutate
    ("/api/v1/stock/receive/", "ops", {"sku": "8712345000017", "location": "WH1", "quantity": 5, "reference": "PO-1"}),
    ("/api/v1/stock/adjust/", "ops", {"sku": "RUN-BLK-42", "location": "ST1", "delta": -1, "reason": "theft"}),
    ("/api/v1/stock/move/", "ops", {"sku": "RUN-BLK-42", "location": "WH1", "from_state": "available",
                                    "to_state": "damaged", "quantity": 3}),
    ("/api/v1/stock/count/", "ops", {"sku": "TEE-WHT-M", "location": "ST1", "counted": 4}),
    ("/api/v1/stock/set/", "ops", {"sku": "RUN-BLK-42", "location": "WH1", "state": "on_hand", "expected": 20,
                                   "value": 18}),
    ("/api/v1/transfers/", "ops", {"source": "WH1", "destination": "ST1", "lines": [{"sku": "RUN-BLK-42",
                                                                                     "quantity": 2}]}),
    ("/api/v1/holds/", "channel", {"sku": "RUN-BLK-42", "location": "ST1", "quantity": 2, "minutes": 20,
                                   "cart_id": "cart-9"}),
    ("/api/v1/pos/sales/", "pos", {"location": "ST2", "receipt_id": "T1-000123",
                                   "lines": [{"sku": "8712345000024", "quantity": 2}]}),
    ("/api/v1/promise/", "channel", {"cart": [{"sku": "RUN-BLK-42", "quantity": 1}], "latitude": 52.376,
                                     "longitude": 4.897}),
    ("/api/v1/availability/", "channel", {"lines": [{"sku": "RUN-BLK-42", "quantity": 2}], "locations": False}),
    ("/api/v1/fulfillments/{fulfillment}/reject/", "ops", {"reason": "capacity", "note": "short-staffed"}),
    ("/api/v1/fulfillments/{fulfillment}/pack/", "ops", {"packages": [{"weight_grams": 500}]}),
    ("/api/v1/fulfillments/{fulfillment}/collect/", "ops", {"code": "123456"}),
    ("/api/v1/orders/{order}/cancel/", "channel", {"reason": "customer changed their mind"}),
]


@settings(max_examples=round(300 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_endpoint_answers_500_to_a_broken_valid_body(placed, channel_client, ops_client, pos_client, data):
    path, who, base = data.draw(st.sampled_from(VALID))
    body = _mutate(data.draw, base)
    client = {"channel": channel_client, "ops": ops_client, "pos": pos_client}[who]
    response = client.post(path.format(**placed), data=json.dumps(body), content_type="application/json")
    event(f"{response.status_code}")
    assert response.status_code < 500, (path, body, response.status_code, response.content[:500])
    if response.status_code >= 400:
        assert response.json()["detail"], response.content[:300]
    assert inventory_violations() == []


@pytest.mark.parametrize("where, raw_value, field", [
    ("note", '"gift\\u0000wrap"', "note"),
    ("customer.name", '"Eva \\ud800"', "customer.name"),
    ("lines.0.sku", '"RUN-BLK-42\\u0000"', "lines[0].sku"),
])
def test_a_nul_or_lone_surrogate_is_a_400_naming_the_field_and_the_payload_is_archived(
        network, channel_client, where, raw_value, field):
    from channels_sync.models import InboundMessage

    body = ship_order(("RUN-BLK-42", 1), external_id="W-NUL")
    placeholder, parent = "@@here@@", body
    *steps, last = where.split(".")
    for step in steps:
        parent = parent[int(step)] if step.isdigit() else parent[step]
    parent[int(last) if last.isdigit() else last] = placeholder
    raw = json.dumps(body).replace(f'"{placeholder}"', raw_value)
    before = _state()

    response = channel_client.generic("POST", "/api/v1/orders/", raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _state() == before
    archived = InboundMessage.objects.get()
    assert (archived.status, archived.external_id) == ("rejected", "W-NUL")
    assert "\ufffd" in json.dumps(archived.payload, ensure_ascii=False)


def test_an_idempotency_key_longer_than_255_is_a_400(network, channel_client):
    before = _state()
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json",
                                   HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"
    assert _state() == before


# --- Every GET with any query string ------------------------------------------------------

QUERY_NAMES = ["sku", "skus", "location", "locations", "channel", "lat", "lng", "latitude", "longitude",
               "radius_km", "quantity", "status", "delivery_method", "external_id", "placed_after",
               "placed_before", "location__code", "page", "limit", "offset", "cursor", "days", "window_days",
               "format", "ordering", "search", "view", "state", "code", "q"]
QUERY_VALUES = st.one_of(NASTY_TEXT, st.text(max_size=30), st.integers(-10 ** 12, 10 ** 12).map(str),
                         st.floats().map(str), st.sampled_from(["RUN-BLK-42", "RUN-BLK-42,TEE-WHT-M", "WH1",
                                                                "web", "true", "false", "2026-11-30", "52.37"]))
GETS = [("/api/v1/orders/", "channel"), ("/api/v1/orders/", "ops"), ("/api/v1/orders/{order}/", "channel"),
        ("/api/v1/fulfillments/", "ops"), ("/api/v1/availability/", "channel"), ("/api/v1/availability/", "ops"),
        ("/api/v1/availability/nearby/", "channel"), ("/api/v1/replenishment/", "ops"),
        ("/api/v1/stock/export.csv", "ops"), ("/api/v1/transfers/", "ops"), ("/api/v1/routing/rule-sets/", "ops")]


@settings(max_examples=round(300 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(GETS),
       query=st.lists(st.tuples(st.sampled_from(QUERY_NAMES), QUERY_VALUES), max_size=5))
def test_no_get_endpoint_answers_500_to_any_query_string(placed, channel_client, ops_client, endpoint, query):
    from urllib.parse import urlencode

    path, who = endpoint
    client = {"channel": channel_client, "ops": ops_client}[who]
    safe = [(name, value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) for name, value in query]
    response = client.get(f"{path.format(**placed)}?{urlencode(safe)}")
    event(f"{response.status_code}")
    assert response.status_code < 500, (path, query, response.status_code, response.content[:500])


def test_an_error_quoting_a_lone_surrogate_back_is_still_a_json_400(network, ops_client):
    raw = '{"sku": "RUN-BLK-42", "location": "ST1", "delta": -1, "reason": "\\ud800"}'
    response = ops_client.generic("POST", "/api/v1/stock/adjust/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert "\ufffd" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/stock/export.csv?sku=%00", "/api/v1/orders/?external_id=a%00b",
                                  "/api/v1/availability/?skus=RUN-BLK-42%00"])
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(network, ops_client, path):
    response = ops_client.get(path)
    assert response.status_code == 400
    assert response.json()["field"] == path.split("?")[1].split("=")[0]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/orders/OC-%00X/"), ("post", "/api/v1/orders/OC-%00X/cancel/"),
    ("post", "/api/v1/shipments/OMNI%00/events/"), ("get", "/api/v1/shipments/OMNI%00/label.pdf"),
    ("get", "/api/v1/orders/%00/")])
def test_a_nul_in_the_path_names_nothing_a_404(network, channel_client, ops_client, method, path):
    # an order number, tracking number or code never holds a NUL, and Postgres refuses one in
    # a comparison (this was a 500 there)
    for client in (channel_client, ops_client):
        response = getattr(client, method)(path, {"status": "delivered"} if "events" in path else {}, format="json")
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
