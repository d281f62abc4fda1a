"""An order POST's answer is built by hand (`order_out_fresh`): it must be exactly what the
order's serializer (`OrderOut`, which GET uses) gives for the same order, on every shape."""

from __future__ import annotations

import json

import pytest

from orders.api import serializers as order_serializers
from tests.payloads import pickup_order, ship_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def compared(monkeypatch):
    """Every fresh answer built, checked against OrderOut on the same in-memory order."""
    built = []
    by_hand = order_serializers.order_out_fresh

    def checked(order):
        ours = by_hand(order)
        theirs = order_serializers.OrderOut(order).data
        assert json.dumps(ours) == json.dumps(theirs)  # same values, same key order, same JSON types
        built.append(ours)
        return ours

    monkeypatch.setattr(order_serializers, "order_out_fresh", checked)
    return built


def _post(client, body, key):
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return response.json()


def test_every_shape_of_fresh_order_answers_as_the_serializer_would(network, channel_client, compared):
    shipped = ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1), external_id="WEB-1")
    shipped["promised_by"] = "2026-12-24T18:00:00+01:00"
    shipped["promise_option"] = "standard"
    shipped["currency"] = "eur"
    no_coordinates = ship_order(("TEE-WHT-M", 3))
    no_coordinates["address"].pop("latitude")
    no_coordinates["address"].pop("longitude")
    no_coordinates["customer"] = {"phone": "06 12345679"}  # no email, no name
    catalogue_price = ship_order(("RUN-BLK-42", 1))
    del catalogue_price["lines"][0]["unit_price"]
    bodies = [pickup_order("ST2", ("RUN-BLK-42", 1), ("TEE-WHT-M", 2)), shipped, no_coordinates, catalogue_price]
    answers = [_post(channel_client, body, f"shape-{i}") for i, body in enumerate(bodies)]
    assert len(compared) == len(bodies)  # every answer was built by hand, and checked
    assert answers[0]["address"] is None and answers[0]["pickup_location"] == "ST2"
    assert answers[1]["promised_by"] and answers[1]["external_id"] == "WEB-1" and answers[1]["currency"] == "EUR"
    assert [line["unit_price"] for line in answers[1]["lines"]] == ["49.95", "49.95"]
    assert answers[1]["timeline"] and all(entry["at"] for entry in answers[1]["timeline"])
    assert answers[2]["address"]["latitude"] is None and answers[2]["customer"]["email"] is None
    assert answers[3]["lines"][0]["unit_price"] == answers[3]["total_amount"]  # the catalogue's price


def test_a_backordered_line_answers_as_the_serializer_would(network, marketplace_client, compared):
    answer = _post(marketplace_client, ship_order(("RUN-BLK-42", 40), external_id="AMZ-1"), "backordered")
    assert len(compared) == 1
    assert answer["lines"][0]["backordered_quantity"] > 0


def test_a_retry_answers_the_stored_answer_unchanged(network, channel_client, compared):
    body = ship_order(("TEE-WHT-M", 1), external_id="WEB-2")
    first = _post(channel_client, body, "same-key")
    again = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
    assert again.status_code == 201 and again.json() == first
