"""An order's timeline, as each caller sees it. Floor staff (a picker at one location) see
the entries of their own part of the order whole, and of the order's own entries those
that read the same wherever the order went (placed, confirmed, a status change, the
cancellation); the others (routing decisions and re-routes, the promise-risk explanation
naming candidate locations, a return at a location) they see redacted: what happened and
when, the order's status before and after, without the message and the actor. Nothing
names another location, its part of the order or its staff. Ops and the order's channel
see the whole timeline, as ever."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_sync.tokens import token_issue
from orders.models import Order, OrderEvent
from tests import factories
from tests.conftest import client_with_token
from tests.payloads import ship_order
from tests.warehouse.floor_setup import build_floor, fulfillment_at, place
from warehouse.services import picking

pytestmark = pytest.mark.django_db(transaction=True)

REDACTED = ("", "")  # (message, actor) of a redacted entry


def placed(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def entries(body: dict) -> list[tuple[str, str, str, str, str]]:
    return [(e["type"], e["status_from"], e["status_to"], e["message"], e["actor"]) for e in body["timeline"]]


def whole_timeline(order: Order) -> list[tuple[str, str, str, str, str]]:
    """Every entry of the order, as written."""
    return [(e.type, e.status_from, e.status_to, e.message, e.actor)
            for e in OrderEvent.objects.filter(order=order).order_by("created_at", "pk")]


def rejected_by_de_pijp(network, channel_client, picker_client_for):
    """An order sent to De Pijp (ST2), whose picker rejects it with a note naming the store;
    the router sends it to the warehouse (WH1)."""
    order = placed(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    rejected = order.fulfillments.get()
    assert rejected.location.code == "ST2"
    store = picker_client_for(network["ST2"])
    response = store.post(f"/api/v1/fulfillments/{rejected.pk}/reject/",
                          {"reason": "capacity", "note": "De Pijp (ST2) is short-staffed today"}, format="json")
    assert response.status_code == 200, response.content
    live = order.fulfillments.exclude(pk=rejected.pk).get()
    assert live.location.code == "WH1"
    return order, rejected, live


def test_a_picker_on_an_order_another_store_rejected_sees_nothing_of_that_store(network, channel_client,
                                                                                picker_client_for):
    order, rejected, live = rejected_by_de_pijp(network, channel_client, picker_client_for)
    warehouse = picker_client_for(network["WH1"])

    body = warehouse.get(f"/api/v1/orders/{order.number}/").json()

    # their own part's entries whole, the order's placing and confirmation whole, both routing
    # decisions (the one that went to De Pijp, the one that came to them) redacted
    assert entries(body) == [
        ("order.placed", "", "placed", "", "channel:web"),
        ("order.confirmed", "", "", "Order confirmed", "channel:web"),
        ("order.routed", "placed", "allocated", *REDACTED),
        ("fulfillment.created", "", "pending", f"Sent to {network['WH1'].pk}", "router"),
        ("order.routed", "placed", "allocated", *REDACTED),
    ]
    text = json.dumps(body)
    for leak in ["ST2", "De Pijp", "picker-st2", rejected.number, f"Sent to {network['ST2'].pk}", "rejected"]:
        assert leak not in text, leak


def test_ops_see_the_whole_timeline_and_the_channel_every_step_without_staff_names_or_notes(
        network, channel_client, picker_client_for, ops_client):
    order, rejected, live = rejected_by_de_pijp(network, channel_client, picker_client_for)
    whole = whole_timeline(order)
    assert ("fulfillment.rejected", "pending", "rejected", "De Pijp (ST2) is short-staffed today",
            "picker:picker-st2") in whole
    assert ("fulfillment.created", "", "pending", f"Sent to {network['ST2'].pk}", "router") in whole

    assert entries(ops_client.get(f"/api/v1/orders/{order.number}/").json()) == whole

    # the storefront sees every step, in order; the retailer's staff by role only, and not the
    # note a store typed on its rejection
    seen = entries(channel_client.get(f"/api/v1/orders/{order.number}/").json())
    assert [e[:3] for e in seen] == [e[:3] for e in whole]
    assert ("fulfillment.rejected", "pending", "rejected", "", "picker") in seen
    assert ("fulfillment.created", "", "pending", f"Sent to {network['ST2'].pk}", "router") in seen
    assert not [e for e in seen if "picker-" in e[4] or "short-staffed" in e[3]]
    assert {e[4] for e in seen if e[4].startswith("channel:")} == {"channel:web"}


def test_a_picker_who_cancels_is_answered_with_the_same_scoped_timeline(network, channel_client,
                                                                        picker_client_for):
    order, rejected, live = rejected_by_de_pijp(network, channel_client, picker_client_for)
    warehouse = picker_client_for(network["WH1"])

    response = warehouse.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "customer phoned"},
                              format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    # their own cancellation is whole (their reason, their name); De Pijp is nowhere
    assert entries(body)[-1] == ("order.cancelled", "allocated", "cancelled", "customer phoned",
                                 "picker:picker-wh1")
    assert [e for e in entries(body) if e[0] == "order.routed"] == [
        ("order.routed", "placed", "allocated", *REDACTED)] * 2
    text = json.dumps(body)
    for leak in ["ST2", "De Pijp", "picker-st2", rejected.number]:
        assert leak not in text, leak


def test_the_promise_risk_naming_the_other_locations_reaches_a_picker_without_them(network, channel_client,
                                                                                   picker_client_for,
                                                                                   ops_client):
    # given 21 shoes promised within the hour: 18 from the warehouse, 3 from a store, neither
    # can deliver by then, and the order says so, naming both
    body = ship_order(("RUN-BLK-42", 21))
    body["promised_by"] = (timezone.now() + timedelta(hours=1)).isoformat()
    order = placed(channel_client, body)
    at_store = order.fulfillments.exclude(location=network["WH1"]).get()
    store_code = at_store.location.code
    order.refresh_from_db()
    assert "WH1" in order.at_risk_reason and store_code in order.at_risk_reason

    # when the store's picker opens it
    seen = picker_client_for(at_store.location).get(f"/api/v1/orders/{order.number}/").json()

    # then they see that the promise is at risk, not which locations cannot keep it
    assert seen["at_risk_reason"] == "The promise may not be kept"
    assert ("order.at_risk", "", "", *REDACTED) in entries(seen)
    assert "WH1" not in json.dumps(seen)
    # ops and the channel see the reason as written
    for client in (ops_client, channel_client):
        every = client.get(f"/api/v1/orders/{order.number}/").json()
        assert every["at_risk_reason"] == order.at_risk_reason
        assert ("order.at_risk", "", "", order.at_risk_reason, "router") in entries(every)
        assert entries(every) == whole_timeline(order)


def test_another_locations_picker_is_not_named_on_the_orders_own_entries(transactional_db, picker_client_for,
                                                                         ops_client):
    # given two shoes sent to the Damrak warehouse, whose picker finds none: their part is
    # cancelled and the order re-routed at once, in the picker's name
    floor = build_floor()
    picker_client_for(floor.wh)  # picker-wh1, at the warehouse
    order = place(floor, (floor.shoe, 2))
    short_here = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [short_here], kind="single", actor="picker:picker-wh1")
    with transaction.atomic():
        picking.pick_short(pick_list.tasks.get(), reason="not_found", actor="picker:picker-wh1")
    moved = order.fulfillments.get(status="pending")
    assert moved.location == floor.store
    assert ("order.status_changed", "allocated", "placed", "", "picker:picker-wh1") in whole_timeline(order)
    assert ("fulfillment.created", "", "pending", f"Sent to {floor.store.pk}", "picker:picker-wh1") in (
        whole_timeline(order))

    # when the store's picker, where the shoes went, opens the order
    body = picker_client_for(floor.store).get(f"/api/v1/orders/{order.number}/").json()

    # then nothing names the warehouse, its part or its picker: their own part's creation
    # and the order's status change are shown without who set them off
    assert entries(body) == [
        ("order.placed", "", "placed", "", "test"),
        ("order.confirmed", "", "", "Order confirmed", "test"),
        ("order.routed", "placed", "allocated", *REDACTED),
        ("order.status_changed", "allocated", "placed", "", ""),
        ("fulfillment.created", "", "pending", f"Sent to {floor.store.pk}", ""),
        ("order.routed", "placed", "allocated", *REDACTED),
    ]
    text = json.dumps(body)
    for leak in ["picker-wh1", "WH1", short_here.number, "Damrak DC", "short"]:
        assert leak not in text, leak
    # ops see the warehouse picker's name as written
    assert entries(ops_client.get(f"/api/v1/orders/{order.number}/").json()) == whole_timeline(order)


def test_a_colleague_at_the_same_location_is_named(network, channel_client, picker_client_for):
    order = placed(channel_client, ship_order(("TEE-WHT-M", 1)))
    fulfillment = order.fulfillments.get()
    first = picker_client_for(fulfillment.location)
    assert first.post(f"/api/v1/fulfillments/{fulfillment.pk}/accept/").status_code == 200
    colleague = factories.StaffFactory(user__username="second-picker", role="picker", location=fulfillment.location)
    second = client_with_token(token_issue(name="second", user=colleague.user)[1])

    body = second.get(f"/api/v1/orders/{order.number}/").json()

    accepted = f"picker:picker-{fulfillment.location.code.lower()}"
    assert ("fulfillment.accepted", "pending", "accepted", "", accepted) in entries(body)



def test_the_scoped_timeline_costs_no_query_more_than_the_whole_one(network, channel_client, picker_client_for,
                                                                    ops_client):
    order, rejected, live = rejected_by_de_pijp(network, channel_client, picker_client_for)
    warehouse = picker_client_for(network["WH1"])
    counts = []
    for client in (warehouse, ops_client):
        client.get(f"/api/v1/orders/{order.number}/")  # the token and caches warmed
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/orders/{order.number}/").status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
