"""What a fuzzer (or a careless client) sends the API framework layer: a body nested a thousand
levels deep, a body over the size limit, a body an action without input cannot read, a view that
fails in production. Each gets a JSON error in the API's shape (`code`, `detail`, `field`) with
the right status, and changes nothing; the admin and the floor screens keep Django's HTML pages.

This module is also the URLconf of the tests that need a view that fails (`FAILING`)."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.views import APIView

from channels_sync.models import InboundMessage
from inventory.models import StockLevel, StockMovement
from omnichannel import urls as project_urls
from omnichannel.errors import InvalidTransition, with_article
from omnichannel.parsers import MAX_JSON_DEPTH, JSONParser
from orders.models import Fulfillment, Order, OrderEvent
from tests.payloads import ship_order
from transport.models import TrackingEvent

pytestmark = pytest.mark.django_db

LIMIT = 2_621_440  # DATA_UPLOAD_MAX_MEMORY_SIZE, Django's default


# --- a URLconf with views that fail ---------------------------------------------------------------------


class FailingApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("a bug in an API view")


def failing_view(request):
    raise RuntimeError("a bug in a plain view")


def suspicious_view(request):
    raise SuspiciousOperation("something odd in the request")


def body_reading_view(request):
    return HttpResponse(len(request.body))


urlpatterns = [
    path("api/v1/test/failing/", FailingApi.as_view()),
    path("api/v1/test/plain-failing/", failing_view),
    path("api/v1/test/suspicious/", suspicious_view),
    path("api/v1/test/read-body/", body_reading_view),
    path("wms/test/failing/", failing_view),
    path("wms/test/suspicious/", suspicious_view),
    path("wms/test/read-body/", body_reading_view),
    path("", include(project_urls.urlpatterns)),
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

FAILING = override_settings(ROOT_URLCONF=__name__, DEBUG=False)


def _state():
    return (Order.objects.count(), InboundMessage.objects.count(), StockMovement.objects.count(),
            OrderEvent.objects.count(), TrackingEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")),
            list(Fulfillment.objects.order_by("pk").values_list("status", flat=True)))


def _nested(depth: int) -> str:
    return '{"a":' + "[" * depth + "]" * depth + "}"


@pytest.fixture
def placed(network, channel_client, django_capture_on_commit_callbacks):
    """An order routed to one pending fulfillment, and a booked shipment for tracking events."""
    from tests.transport.test_shipments_and_tracking import book

    with django_capture_on_commit_callbacks(execute=True):  # routing runs after the order commits
        response = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json")
    assert response.status_code == 201, response.content
    fulfillment = Fulfillment.objects.get(order__number=response.json()["number"])
    assert fulfillment.status == "pending"
    return {"order": response.json()["number"], "fulfillment": fulfillment.pk, "tracking": book().tracking_number}


# --- 1. deeply nested JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize("where, who", [
    ("/api/v1/orders/", "channel"),
    ("/api/v1/fulfillments/{fulfillment}/reject/", "ops"),
    ("/api/v1/shipments/{tracking}/events/", "ops"),
    ("/api/v1/fulfillments/{fulfillment}/accept/", "ops"),  # an action without input
])
@pytest.mark.parametrize("depth", [1000, 5000, MAX_JSON_DEPTH + 1])
def test_a_body_nested_too_deep_is_a_400_parse_error_and_changes_nothing(placed, channel_client, ops_client,
                                                                        where, who, depth):
    client = {"channel": channel_client, "ops": ops_client}[who]
    body = _nested(depth)
    before = _state()

    response = client.post(where.format(**placed), body, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=f"deep-{depth}")

    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"code": "parse_error", "field": None, "detail": (
        f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep.")}
    assert _state() == before


def test_a_deep_part_in_an_order_that_is_otherwise_refused_is_a_400_not_a_500(network, channel_client):
    """Parsed (600 levels is within Python's decoder's reach), the body then went to the archive,
    whose copying recursed twice per level: a RecursionError, a 500."""
    body = ship_order(("TEE-WHT-M", 1))
    body["extra"] = json.loads("[" * 600 + "]" * 600)
    body["note"] = "gift\u0000wrap"
    before = _state()

    response = channel_client.post("/api/v1/orders/", json.dumps(body), content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "parse_error", response.content[:300]
    assert _state() == before


def test_an_order_nested_as_deep_as_allowed_is_placed(network, channel_client):
    body = ship_order(("TEE-WHT-M", 1))
    body["extra"] = json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1))  # the body is level 1

    response = channel_client.post("/api/v1/orders/", json.dumps(body), content_type="application/json")

    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize("text, deep", [
    ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), True),
    ('{"a": "' + "[" * 500 + '"}', False),  # brackets in a string are text
    ("[" + "{}," * 500 + "{}]", False),  # many brackets, two levels
    ('{"a": [' + '{"b": {"c": [1]}},' * 100 + "1]}", False),
])
def test_the_parser_measures_the_depth_not_the_brackets(text, deep):
    from io import BytesIO

    from rest_framework.exceptions import ParseError

    if deep:
        with pytest.raises(ParseError, match="nested more than"):
            JSONParser().parse(BytesIO(text.encode()))
    else:
        assert JSONParser().parse(BytesIO(text.encode())) == json.loads(text)


# --- 2. a body over the size limit -----------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])  # a developer's server (DEBUG) answered Django's debug page
def test_an_order_body_over_the_limit_is_a_413_saying_the_limit(network, channel_client, debug):
    body = ship_order(("TEE-WHT-M", 1))
    body["note"] = "x" * (LIMIT + 1)
    before = _state()

    with override_settings(DEBUG=debug):
        response = channel_client.post("/api/v1/orders/", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "payload_too_large", "field": None, "detail": (
        f"The request body is larger than {LIMIT} bytes (2.5 MB), the most the API takes.")}
    assert _state() == before


def test_an_action_body_over_the_limit_is_a_413_and_changes_nothing(placed, ops_client):
    before = _state()
    response = ops_client.post(f"/api/v1/fulfillments/{placed['fulfillment']}/accept/",
                               json.dumps({"x": "y" * LIMIT}), content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert _state() == before


@FAILING
def test_outside_drf_a_body_over_the_limit_is_a_413_under_the_api_and_the_page_elsewhere():
    client = Client(raise_request_exception=False)
    big = "x" * (LIMIT + 1)

    api = client.post("/api/v1/test/read-body/", big, content_type="application/octet-stream")
    page = client.post("/wms/test/read-body/", big, content_type="application/octet-stream")

    assert api.status_code == 413 and api.json()["code"] == "payload_too_large"
    assert str(LIMIT) in api.json()["detail"]
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


# --- 3. production error pages ---------------------------------------------------------------------------


@FAILING
@pytest.mark.parametrize("where", ["/api/v1/test/failing/", "/api/v1/test/plain-failing/"])
def test_an_unhandled_error_under_the_api_is_a_json_500_and_is_logged(caplog, where):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(where)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "server_error", "detail": "A server error occurred.", "field": None}
    logged = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert len(logged) == 1 and logged[0].exc_info and "a bug in" in str(logged[0].exc_info[1])


@FAILING
def test_an_unhandled_error_on_a_screen_keeps_the_html_page():
    response = Client(raise_request_exception=False).get("/wms/test/failing/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")


@FAILING
def test_a_bad_request_outside_drf_is_json_under_the_api_and_html_elsewhere():
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/test/suspicious/")
    page = client.get("/wms/test/suspicious/")
    assert api.status_code == 400
    assert api.json() == {"code": "bad_request", "detail": "The request could not be read.", "field": None}
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@FAILING
def test_an_unknown_api_path_is_a_json_404():
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- 4. a body an action without input cannot read -------------------------------------------------------


@pytest.mark.parametrize("raw, content_type, status, code", [
    (b'{"x":', "application/json", 400, "parse_error"),
    (b"\xff\xfe{}", "application/json", 400, "parse_error"),
    (b"accept please", "text/plain", 415, "unsupported_media_type"),
    (b'{"x": 1}', "", 415, "unsupported_media_type"),
])
@pytest.mark.parametrize("action", ["accept", "start-picking", "picked", "ready-for-pickup"])
def test_an_action_without_input_refuses_a_body_it_cannot_read(placed, ops_client, action, raw, content_type,
                                                               status, code):
    before = _state()
    response = ops_client.generic("POST", f"/api/v1/fulfillments/{placed['fulfillment']}/{action}/", raw,
                                  content_type=content_type)

    assert response.status_code == status, response.content[:300]
    assert response.json()["code"] == code and response.json()["detail"]
    assert _state() == before


@pytest.mark.parametrize("raw, content_type", [(b"", "application/json"), (b"{}", "application/json"),
                                               (b'{"note": "ignored"}', "application/json"),
                                               (b"note=ignored", "application/x-www-form-urlencoded")])
def test_an_action_without_input_still_takes_no_body_any_json_or_a_form(placed, ops_client, raw, content_type):
    response = ops_client.generic("POST", f"/api/v1/fulfillments/{placed['fulfillment']}/accept/", raw,
                                  content_type=content_type)
    assert response.status_code == 200, response.content[:300]
    assert Fulfillment.objects.get().status == "accepted"


def test_a_method_the_view_does_not_have_is_a_405_whatever_the_body(placed, ops_client):
    response = ops_client.generic("PUT", f"/api/v1/fulfillments/{placed['fulfillment']}/accept/", b'{"x":',
                                  content_type="application/json")
    assert response.status_code == 405


def test_an_anonymous_caller_with_a_readable_body_is_still_a_401(placed):
    from rest_framework.test import APIClient

    response = APIClient().post(f"/api/v1/fulfillments/{placed['fulfillment']}/accept/", {}, format="json")
    assert response.status_code == 401


# --- 7a. JSON bodies only ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type, raw", [
    ("application/x-www-form-urlencoded", b"delivery_method=ship&customer=x&lines=1"),
    ("multipart/form-data; boundary=BoUnDaRy", b'--BoUnDaRy\r\nContent-Disposition: form-data; name="lines"'
                                               b"\r\n\r\n1\r\n--BoUnDaRy--\r\n"),
    ("multipart/form-data", b"no boundary at all"),  # Django's own parser raised: an HTML 400
])
def test_an_order_as_a_form_is_a_415(network, channel_client, content_type, raw):
    before = _state()
    response = channel_client.generic("POST", "/api/v1/orders/", raw, content_type=content_type)
    assert response.status_code == 415, response.content[:300]
    assert response.json()["code"] == "unsupported_media_type"
    assert _state() == before


def test_a_flat_input_may_come_as_a_form(placed, ops_client):
    # a tracking scan is flat: a form carries it (DRF's test client sends one by default)
    response = ops_client.post(f"/api/v1/shipments/{placed['tracking']}/events/", {"status": "in_transit"})
    assert response.status_code == 201, response.content[:300]
    assert TrackingEvent.objects.filter(status="in_transit").count() == 1


@pytest.mark.parametrize("action, body", [
    ("pack", {"packages": "900"}),
    ("reject", {"reason": "not_in_stock", "counts": "TEE-WHT-M=0"}),
])
def test_a_nested_input_as_a_form_is_a_415(placed, ops_client, action, body):
    before = _state()
    response = ops_client.post(f"/api/v1/fulfillments/{placed['fulfillment']}/{action}/", body)
    assert response.status_code == 415, response.content[:300]
    assert _state() == before


# --- 6. error grammar --------------------------------------------------------------------------------------


def test_cancelling_a_cancelled_order_reads_an_order(network, channel_client):
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    assert channel_client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json").status_code == 200

    again = channel_client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")

    assert again.status_code == 409
    assert again.json()["detail"] == "Cannot cancel an order that is cancelled."


@pytest.mark.parametrize("entity, expected", [
    ("order", "an order"), ("fulfillment", "a fulfillment"), ("rule set", "a rule set"), ("return", "a return"),
    ("unit", "a unit"), ("item", "an item"), ("hour", "an hour"), ("Order", "an Order"), ("euro note", "a euro note"),
])
def test_the_article_goes_by_the_sound(entity, expected):
    assert with_article(entity) == expected
    assert str(InvalidTransition(entity, "shipped", "pack")) == f"Cannot pack {expected} that is shipped."


# --- paging parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, field", [
    ("limit=-1", "limit"), ("limit=0", "limit"), ("limit=abc", "limit"), ("limit=1.5", "limit"),
    ("offset=-3", "offset"), ("offset=abc", "offset"), ("offset=null", "offset"), ("limit=１０", "limit"),
])
def test_a_paging_parameter_that_is_not_a_whole_number_is_a_400(network, channel_client, query, field):
    response = channel_client.get(f"/api/v1/orders/?{query}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["field"] == field


def test_paging_in_range_pages_and_a_limit_above_the_ceiling_gives_the_ceiling(network, channel_client):
    for _ in range(3):
        channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json")
    page = channel_client.get("/api/v1/orders/?limit=2&offset=1").json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert channel_client.get("/api/v1/orders/?limit=100000").status_code == 200
    assert len(channel_client.get("/api/v1/orders/?limit=&offset=").json()["results"]) == 3  # empty: the defaults
