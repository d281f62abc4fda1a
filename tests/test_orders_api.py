"""Capture, idempotency, scoping, bad input and cancel, through the HTTP API."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from channels_sync.models import InboundMessage
from channels_sync.tokens import token_issue
from inventory.models import Reservation, StockLevel, StockMovement
from omnichannel.models import OutboxEvent
from orders.models import Customer, Order
from tests import factories
from tests.conftest import client_with_token, requires_postgres
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot():
    """Everything a rejected request must leave untouched."""
    return (Order.objects.count(), Customer.objects.count(), StockMovement.objects.count(),
            Reservation.objects.count(), OutboxEvent.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")))


def test_same_key_same_body_returns_the_same_order(network, channel_client):
    body = ship_order(("RUN-BLK-42", 1))
    first = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 1
    assert list(InboundMessage.objects.order_by("pk").values_list("status", flat=True)) == ["processed", "duplicate"]


def test_same_key_different_body_is_a_conflict(network, channel_client):
    channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = snapshot()
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2)), format="json",
                                   HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert snapshot()[:5] == (before[0], before[1], before[2], before[3], before[4])


def test_same_external_id_never_makes_a_second_order(network, channel_client):
    first = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="W-100"), format="json")
    second = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="W-100"),
                                 format="json", HTTP_IDEMPOTENCY_KEY="another-key")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 1


def test_an_external_id_sent_with_spaces_is_the_same_order(network, channel_client):
    first = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="W-101"), format="json")
    spaced = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="  W-101 "),
                                 format="json")
    assert (first.status_code, spaced.status_code) == (201, 200)
    assert spaced.json()["number"] == first.json()["number"] and Order.objects.count() == 1
    assert list(InboundMessage.objects.order_by("pk").values_list("status", flat=True)) == ["processed", "duplicate"]


@requires_postgres
def test_on_postgres_the_archive_and_both_first_lookups_are_one_statement(network, channel_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="W-7"), format="json",
                        HTTP_IDEMPOTENCY_KEY="k-7")
    with CaptureQueriesContext(connection) as ctx:
        again = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), external_id="W-8"),
                                    format="json", HTTP_IDEMPOTENCY_KEY="k-8")
        replay = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), external_id="W-8"),
                                     format="json", HTTP_IDEMPOTENCY_KEY="k-8")
        twin = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), external_id="W-8"),
                                   format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert (again.status_code, replay.status_code, twin.status_code) == (201, 201, 200)
    assert replay.json()["number"] == twin.json()["number"] == again.json()["number"]
    sqls = [q["sql"] for q in ctx.captured_queries]
    arrivals = [s for s in sqls if s.startswith("WITH m AS (INSERT INTO \"channels_sync_inboundmessage\"")]
    assert len(arrivals) == 3 and all("kernel_idempotencyrecord" in s and "orders_order" in s for s in arrivals)
    assert not [s for s in sqls if s.startswith("SELECT") and '"scope" = ' in s]  # the replay reads its record only
    assert not [s for s in sqls if s.startswith('SELECT "id" FROM "orders_order" WHERE "channel_id"')]


def test_same_external_id_on_another_channel_is_another_order(network, channel_client):
    app = factories.ChannelFactory(code="app", kind="app")
    app_client = client_with_token(token_issue(name="app", channel=app)[1])
    channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="X-1"), format="json")
    assert app_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id="X-1"),
                           format="json").status_code == 201
    assert Order.objects.count() == 2


def test_a_channel_sees_only_its_own_orders(network, channel_client):
    number = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json").json()["number"]
    other = factories.ChannelFactory(code="app", kind="app")
    other_client = client_with_token(token_issue(name="app", channel=other)[1])
    assert other_client.get(f"/api/v1/orders/{number}/").status_code == 404
    assert other_client.post(f"/api/v1/orders/{number}/cancel/").status_code == 404
    assert other_client.get("/api/v1/orders/").json()["count"] == 0
    assert channel_client.get("/api/v1/orders/").json()["results"][0]["number"] == number
    assert Order.objects.get(number=number).status == "allocated"


def test_no_token_and_bad_token_are_refused(network, channel_client):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/orders/").status_code == 401
    assert client_with_token("oc_nope").get("/api/v1/orders/").status_code == 401


def test_a_line_without_a_price_is_charged_the_catalogue_price(network, channel_client):
    """A storefront may leave prices to the catalogue: an omitted or null unit price is the
    SKU's price (also when the line names the SKU by its barcode); a price given, even 0 (a
    free gift), is what the customer pays."""
    from decimal import Decimal

    network["shoe"].price, network["shirt"].price = Decimal("89.95"), Decimal("19.50")
    network["shoe"].save(update_fields=["price"])
    network["shirt"].save(update_fields=["price"])
    body = ship_order(("RUN-BLK-42", 2), ("8712345000024", 1), ("TEE-WHT-M", 1), ("RUN-BLK-42", 1),
                      external_id="priced-by-catalogue")
    del body["lines"][0]["unit_price"]
    body["lines"][1]["unit_price"] = None
    body["lines"][2]["unit_price"] = "0"
    body["lines"][3]["unit_price"] = "75.00"
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="catalogue-1")
    assert response.status_code == 201, response.content
    assert [line["unit_price"] for line in response.json()["lines"]] == ["89.95", "19.50", "0.00", "75.00"]
    order = Order.objects.get(number=response.json()["number"])
    assert order.total_amount == Decimal("89.95") * 2 + Decimal("19.50") + Decimal("75.00")
    assert response.json()["total_amount"] == str(order.total_amount)
    assert list(order.lines.order_by("line_number").values_list("unit_price", flat=True)) == [
        Decimal("89.95"), Decimal("19.50"), Decimal("0.00"), Decimal("75.00")]


def test_customers_are_matched_across_channels_by_email_or_phone(network, channel_client):
    app = factories.ChannelFactory(code="app", kind="app")
    app_client = client_with_token(token_issue(name="app", channel=app)[1])
    channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1), email="Eva@Example.com "), format="json")
    body = ship_order(("TEE-WHT-M", 1), email="eva@example.com")
    app_client.post("/api/v1/orders/", body, format="json")
    by_phone = ship_order(("TEE-WHT-M", 1))
    by_phone["customer"] = {"phone": "+31612345678", "name": "Eva"}
    app_client.post("/api/v1/orders/", by_phone, format="json")
    assert Customer.objects.count() == 1
    assert Customer.objects.get().phone == "+31612345678"


@pytest.mark.parametrize(("given", "stored"), [("nl", "NL"), (" be ", "BE"), ("", "NL")])
def test_the_country_is_stored_as_an_upper_case_iso_code(network, channel_client, given, stored):
    body = ship_order(("RUN-BLK-42", 1))
    body["address"]["country"] = given
    response = channel_client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["address"]["country"] == stored
    assert Order.objects.get().ship_country == stored


@pytest.mark.parametrize(("mutate", "status", "field"), [
    (lambda b: b["lines"].__setitem__(0, {"sku": "NOPE-1", "quantity": 1}), 400, "lines[0].sku"),
    (lambda b: b["lines"].__setitem__(0, {"sku": "RUN-BLK-42", "quantity": 0}), 400, "lines[0].quantity"),
    (lambda b: b["lines"].__setitem__(0, {"sku": "RUN-BLK-42", "quantity": -2}), 400, "lines[0].quantity"),
    (lambda b: b.__setitem__("lines", []), 400, "lines"),
    (lambda b: b.pop("address"), 400, "address"),
    (lambda b: b["address"].pop("line1"), 400, "address.line1"),
    (lambda b: b.__setitem__("delivery_method", "teleport"), 400, "delivery_method"),
    (lambda b: b.__setitem__("customer", {"name": "nobody"}), 400, "customer.email"),
    (lambda b: b["customer"].__setitem__("phone", "12"), 400, "customer.phone"),
    (lambda b: b["lines"].__setitem__(0, {"sku": "RUN-BLK-42", "quantity": 500}), 409, "lines"),
    (lambda b: b["address"].__setitem__("country", "N1"), 400, "address.country"),
    (lambda b: b["address"].pop("longitude"), 400, "address.longitude"),  # half a coordinate
    (lambda b: b["address"].__setitem__("latitude", None), 400, "address.latitude"),
    (lambda b: b["address"].__setitem__("phone", "1.0000000000000002e+16"), 400, "address.phone"),  # 22 chars
])
def test_bad_input_is_rejected_and_changes_nothing(network, channel_client, mutate, status, field):
    body = ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 1))
    mutate(body)
    before = snapshot()
    response = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert snapshot() == before
    assert InboundMessage.objects.get().status == "rejected"  # the payload itself is kept


def test_short_stock_answers_409_with_the_short_lines(network, channel_client):
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 26), ("TEE-WHT-M", 1)),
                                   format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["short_lines"] == [{"sku": "RUN-BLK-42", "requested": 26, "available": 25}]


def test_pickup_at_a_location_that_cannot_do_pickup_is_rejected(network, channel_client):
    before = snapshot()
    for code in ["WH1", "ST9", "NOWHERE"]:
        response = channel_client.post("/api/v1/orders/", pickup_order(code, ("TEE-WHT-M", 1)), format="json")
        assert response.status_code == 400
        assert response.json()["field"] == "pickup_location"
    assert snapshot() == before


def test_marketplace_orders_are_backordered_not_refused(network, marketplace_client):
    response = marketplace_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 27), external_id="AMZ-1"),
                                       format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    line = order.lines.get()
    assert line.backordered_quantity == 2
    assert sum(StockLevel.objects.filter(sku=network["shoe"]).values_list("reserved", flat=True)) == 25
    assert order.status == "allocated"  # what is there is routed; the rest waits visibly
    detail = marketplace_client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["lines"][0]["backordered_quantity"] == 2


def test_an_order_nothing_can_fulfil_is_held_backordered(network, marketplace_client):
    ghost = factories.SkuFactory(code="GHOST-1")
    response = marketplace_client.post("/api/v1/orders/", ship_order((ghost.code, 1)), format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    assert order.status == "backordered"
    assert order.fulfillments.count() == 0
    assert order.routing_decisions.get().outcome == "backordered"


@pytest.mark.parametrize(("lines", "reject_first"), [
    ((("RUN-BLK-42", 1), ("TEE-WHT-M", 2)), False),  # routed in full
    ((("RUN-BLK-42", 27),), False),  # partly backordered
    ((("GHOST-1", 1),), False),  # nothing can fulfil it
    ((("RUN-BLK-42", 22),), True),  # split over two locations; one says no; routed again, the other kept
])
def test_the_status_routing_derives_in_memory_is_the_one_the_database_gives(network, marketplace_client,
                                                                          monkeypatch, lines, reject_first):
    """The router derives the new status from what it holds (status.Known); reading every
    fulfillment, line and allocation back must give the same answer, and so must its count
    of units in no fulfillment."""
    from orders import services
    from orders.services import routing
    from orders.services.status import derive_status, unrouted_units

    seen = []
    real = routing.refresh_order_status
    monkeypatch.setattr(routing, "refresh_order_status",
                        lambda order, **kw: seen.append((order, kw["known"])) or real(order, **kw))
    factories.SkuFactory(code="GHOST-1")
    response = marketplace_client.post("/api/v1/orders/", ship_order(*lines), format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    if reject_first:
        first, second = order.fulfillments.order_by("pk")
        with transaction.atomic():
            services.fulfillment_reject(services.fulfillment_lock(second.pk), reason="capacity", actor="test")
        assert len(seen) == 2 and order.fulfillments.count() >= 3  # routed again, elsewhere
        order.refresh_from_db()
    assert order.routing_decisions.exists()
    assert derive_status(order) == order.status
    assert seen[-1][1].unrouted == unrouted_units(seen[-1][0])


def test_cancel_releases_every_reservation(network, channel_client):
    number = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)),
                                 format="json").json()["number"]
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 3
    response = channel_client.post(f"/api/v1/orders/{number}/cancel/", {"reason": "changed my mind"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0
    assert not Reservation.objects.filter(status="open").exists()
    assert [f["status"] for f in response.json()["fulfillments"]] == ["cancelled"]
    again = channel_client.post(f"/api/v1/orders/{number}/cancel/")
    assert again.status_code == 409 and again.json()["current_status"] == "cancelled"


def test_floor_staff_cancel_an_order_of_their_location(network, channel_client, picker_client_for):
    """Floor staff see the orders their location fulfils and may cancel one (README). Their
    list of orders is DISTINCT (an order may have several fulfillments there), which Postgres
    cannot lock FOR UPDATE: that was a 500."""
    number = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    fulfillment = Order.objects.get(number=number).fulfillments.get()
    picker = picker_client_for(fulfillment.location)
    response = picker.post(f"/api/v1/orders/{number}/cancel/", {"reason": "customer phoned"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0
    elsewhere = channel_client.post("/api/v1/orders/", ship_order(("TEE-WHT-M", 1)), format="json").json()["number"]
    stranger = picker_client_for(network["ST9"])
    assert stranger.post(f"/api/v1/orders/{elsewhere}/cancel/").status_code == 404
    assert Order.objects.get(number=elsewhere).status != "cancelled"


@pytest.mark.parametrize("debug", [False, True])
def test_posting_an_order_without_the_trailing_slash_places_it(network, channel_client, settings, debug):
    settings.DEBUG = debug
    response = channel_client.post("/api/v1/orders", ship_order(("RUN-BLK-42", 1)), format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.get().number == response.json()["number"]
    assert channel_client.get(f"/api/v1/orders/{response.json()['number']}").status_code == 200


def test_an_unknown_api_path_is_a_json_404(network, channel_client, settings):
    settings.DEBUG = False
    response = channel_client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Client().get("/nope/").status_code == 404  # the rest of the site keeps its page


def test_a_huge_page_limit_is_capped_not_an_error(network, channel_client):
    channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")
    response = channel_client.get("/api/v1/orders/?limit=" + "9" * 400 + "&offset=" + "9" * 30)
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (1, [])
    assert len(channel_client.get("/api/v1/orders/?limit=" + "9" * 400).json()["results"]) == 1


def test_shared_output_fields_render_exactly_what_drf_renders(network, channel_client, picker_client_for,
                                                              ops_client, monkeypatch):
    """The output serializers share their fields between responses (omnichannel.api.SharedFields);
    byte for byte, every order, fulfillment and summary must render as DRF renders it with
    fields built for each instance."""
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from omnichannel.api import SharedFields
    from orders.api import serializers as s
    from orders.models import Fulfillment
    from tests.test_journey import pickup_journey, ship_journey

    ship_journey(network, channel_client, picker_client_for, ops_client)
    pickup_journey(network, channel_client, picker_client_for)
    channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json")  # a fresh one too

    def render_all():
        out = [s.OrderOut(o).data for o in Order.objects.order_by("pk")]
        out += [s.OrderSummaryOut(Order.objects.order_by("pk"), many=True).data]
        out += [s.FulfillmentDetailOut(f).data for f in Fulfillment.objects.order_by("pk")]
        return JSONRenderer().render(out)

    shared = render_all()
    assert b'"shipment":{"tracking_number":"OMNI' in shared and b'"status":"picked_up"' in shared
    monkeypatch.setattr(SharedFields, "_readable_fields", serializers.Serializer._readable_fields)
    assert render_all() == shared


def test_shared_input_fields_validate_each_body_on_its_own_under_threads():
    """OrderIn and its nested serializers share their fields between requests (SharedFields);
    validating many bodies at once from threads gives each exactly its own errors or data."""
    from concurrent.futures import ThreadPoolExecutor

    from orders.api.serializers import OrderIn

    def body(i: int) -> dict:
        b = ship_order(("RUN-BLK-42", i % 3 + 1), ("TEE-WHT-M", 1))
        if i % 4 == 1:
            b["lines"][1]["quantity"] = 0
        if i % 4 == 2:
            b["customer"] = {"name": "nobody"}
        if i % 4 == 3:
            b["address"]["country"] = "N1"
        return b

    def check(i: int):
        parsed = OrderIn(data=body(i))
        return (parsed.is_valid(), parsed.errors if parsed.errors else parsed.validated_data["lines"][0]["quantity"])

    alone = [check(i) for i in range(400)]
    assert {ok for ok, _ in alone} == {True, False}
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(check, range(400))) == alone


def test_shared_input_fields_keep_read_only_defaults_and_build_no_fields_per_body():
    from rest_framework import serializers

    from omnichannel.api import SharedFields
    from orders.api.serializers import OrderIn

    seen = []

    class Stamped(SharedFields, serializers.Serializer):
        name = serializers.CharField()
        source = serializers.CharField(read_only=True, default="api")

        class Meta:
            validators = [seen.append]  # DRF hands validators the read-only defaults too

    stamped = Stamped(data={"name": "x", "source": "forged"})
    assert stamped.is_valid(), stamped.errors
    assert seen == [{"name": "x", "source": "api"}]

    parsed = OrderIn(data=ship_order(("RUN-BLK-42", 1)))
    assert parsed.is_valid(), parsed.errors
    assert "fields" not in parsed.__dict__  # validated over the shared fields: none built for this body


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_order_sent_at_once_from_many_threads_is_placed_once(network, web_channel):
    from tests.conftest import run_at_once

    token = token_issue(name="web", channel=web_channel)[1]
    body = ship_order(("RUN-BLK-42", 1), external_id="W-RACE")
    answers: list[tuple[int, str]] = []

    def send(key: str) -> None:
        response = client_with_token(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        answers.append((response.status_code, response.json().get("number", response.content)))

    run_at_once(lambda: send("same-key"), 6)  # a retrying client: one key
    keys = iter(f"key-{i}" for i in range(6))
    run_at_once(lambda: send(next(keys)), 6)  # a channel resending: one external id, new keys

    assert Order.objects.count() == 1
    number = Order.objects.get().number
    assert {n for _, n in answers} == {number}
    assert sorted(code for code, _ in answers[:6]) == [201] * 6  # the key's answer, replayed
    assert sorted(code for code, _ in answers[6:]) == [200] * 6  # the order the external id already has
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 1
    statuses = list(InboundMessage.objects.values_list("status", flat=True))
    assert sorted(statuses) == ["duplicate"] * 11 + ["processed"]


def test_an_order_that_loses_a_race_for_its_stock_is_placed_again_in_a_new_transaction(network, channel_client,
                                                                                       monkeypatch):
    # between the plan and the take, the stock the plan chose is gone (as if another order
    # took it): the first, optimistic attempt fails, its whole transaction rolls back (the
    # stock "taken" meanwhile with it: it was this transaction's doing) and the order is
    # placed again, in a new transaction
    from django.db.models import F

    from channels_sync import capture
    from orders.services import placement

    real_plan, real_place, calls = placement.plan_for, capture._place, []

    def plan_then_lose_the_race(order, needs, **kwargs):
        plan = real_plan(order, needs, **kwargs)
        if "raced" not in calls:
            calls.append("raced")
            location, skus = next(iter(plan.take.items()))
            level_id = plan.level_ids[(location, next(iter(skus)))]
            StockLevel.objects.filter(pk=level_id).update(reserved=F("on_hand"))
        return plan

    def place(*args, optimistic, **kwargs):
        calls.append(f"place optimistic={optimistic}")
        return real_place(*args, optimistic=optimistic, **kwargs)

    monkeypatch.setattr(placement, "plan_for", plan_then_lose_the_race)
    monkeypatch.setattr(capture, "_place", place)
    before = dict(StockLevel.objects.values_list("pk", "reserved"))
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)),
                                   format="json", HTTP_IDEMPOTENCY_KEY="race-once")

    assert response.status_code == 201, response.content
    assert calls == ["place optimistic=True", "raced", "place optimistic=False"]
    order = Order.objects.get()
    assert order.number == response.json()["number"]
    assert sorted(Reservation.objects.filter(status="open").values_list("quantity", flat=True)) == [1, 2]
    after = dict(StockLevel.objects.values_list("pk", "reserved"))
    assert sum(after.values()) - sum(before.values()) == 3  # the first attempt left nothing
    assert StockMovement.objects.filter(reason="reserve").count() == 2
    assert Customer.objects.count() == 1
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED


def _deadlocked_after_placing(real_place, times: int, calls: list[bool]):
    """`order_place` that does its work and then, `times` times, fails the way a transaction
    Postgres chose as a deadlock victim fails (Django's OperationalError over psycopg's)."""
    import psycopg
    from django.db import OperationalError

    def place(data, ctx, **kwargs):
        calls.append(kwargs["optimistic"])
        result = real_place(data, ctx, **kwargs)
        if len(calls) <= times:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")
        return result
    return place


def test_an_order_whose_transaction_a_deadlock_rolled_back_is_placed_again_the_careful_way(network, channel_client,
                                                                                          monkeypatch):
    from orders import services as order_services

    calls: list[bool] = []
    monkeypatch.setattr(order_services, "order_place", _deadlocked_after_placing(order_services.order_place, 2, calls))
    response = channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)),
                                   format="json", HTTP_IDEMPOTENCY_KEY="deadlocked-twice")

    assert response.status_code == 201, response.content
    assert calls == [True, False, False]  # optimistic first, then with a savepoint per attempt
    assert Order.objects.get().number == response.json()["number"]
    assert sorted(Reservation.objects.filter(status="open").values_list("quantity", flat=True)) == [1, 2]
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 3  # the rolled-back tries left nothing
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED


def test_a_placement_that_keeps_deadlocking_fails_after_three_tries_with_nothing_written(network, channel_client,
                                                                                       monkeypatch):
    from django.db import OperationalError

    from orders import services as order_services

    calls: list[bool] = []
    monkeypatch.setattr(order_services, "order_place", _deadlocked_after_placing(order_services.order_place, 9, calls))
    with pytest.raises(OperationalError):
        channel_client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1)), format="json",
                            HTTP_IDEMPOTENCY_KEY="deadlocked-always")

    assert calls == [True, False, False]
    assert Order.objects.count() == 0
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0
    assert InboundMessage.objects.get().status == InboundMessage.Status.FAILED  # kept, to be replayed
