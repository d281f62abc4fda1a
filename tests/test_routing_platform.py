"""The router inside the platform: decisions, rule sets, re-routing paths, races."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from inventory.services import ReserveRequest, stock_receive, stock_reserve
from omnichannel import outbox
from omnichannel.tasks import outbox_sweep
from orders.models import Fulfillment, Order, RoutingRuleSet
from orders.services import planner
from orders.tasks import reroute_backordered, reroute_unaccepted_fulfillments
from tests import factories
from tests.conftest import requires_postgres
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def place(client, body) -> Order:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def test_each_routing_run_is_stored_with_its_candidates_and_cost(network, channel_client):
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    decision = order.routing_decisions.get()
    assert (decision.strategy, decision.outcome, decision.solver_status) == ("optimal", "routed", "optimal")
    assert decision.rule_set_version == "default-v0"
    assert decision.plan == [{"location": "ST2", "sku": "RUN-BLK-42", "qty": 2},
                             {"location": "ST2", "sku": "TEE-WHT-M", "qty": 1}]
    reasons = {c["location"]: c["reason"] for c in decision.candidates}
    assert reasons["ST2"] == "chosen"
    assert reasons["ST9"] == "costlier"  # far away; could ship the shirt, at a higher cost
    assert {c["location"] for c in decision.candidates} == {"WH1", "ST1", "ST2", "ST9"}
    assert decision.cost["total"] == pytest.approx(decision.cost["shipping"] + decision.cost["handling"]
                                                   + decision.cost["split_penalty"])


def test_rule_sets_are_versioned_simulated_and_activated(network, channel_client, ops_client, web_channel):
    for _ in range(3):
        place(channel_client, ship_order(("TEE-WHT-M", 1)))
    created = ops_client.post("/api/v1/routing/rule-sets/", {"channel": "web", "strategy": "rules",
                                                            "rules": ["ranked", "closest"], "ranking": ["ST9"]},
                              format="json")
    assert created.status_code == 201, created.content
    draft = created.json()
    assert (draft["version"], draft["status"], draft["label"]) == (1, "draft", "web-v1")
    report = ops_client.post(f"/api/v1/routing/rule-sets/{draft['id']}/simulate/", {"last_n": 10},
                             format="json").json()
    assert report["orders"] == 3 and report["active"] == "default-v0"
    # Ranking the far-away store first sends every shirt 170 km: costlier and farther than optimal.
    assert report["draft_metrics"]["total_cost"] > report["active_metrics"]["total_cost"]
    assert report["draft_metrics"]["avg_km_per_unit"] > 100 > report["active_metrics"]["avg_km_per_unit"]
    assert ops_client.post(f"/api/v1/routing/rule-sets/{draft['id']}/activate/").json()["status"] == "active"
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    decision = order.routing_decisions.get()
    assert (decision.rule_set_version, decision.strategy) == ("web-v1", "rules")
    assert order.fulfillments.get().location.code == "ST9"
    second = ops_client.post("/api/v1/routing/rule-sets/", {"channel": "web"}, format="json").json()
    assert second["version"] == 2
    ops_client.post(f"/api/v1/routing/rule-sets/{second['id']}/activate/")
    assert list(RoutingRuleSet.objects.order_by("version").values_list("status", flat=True)) == ["retired", "active"]
    again = ops_client.post(f"/api/v1/routing/rule-sets/{draft['id']}/activate/")
    assert again.status_code == 409
    bad = ops_client.post("/api/v1/routing/rule-sets/", {"rules": ["cheapest", "teleport"]}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "rules"


def test_a_simulation_takes_an_order_stored_with_half_a_coordinate(network, channel_client, ops_client):
    """The API now refuses half a coordinate; an order stored before that still simulates."""
    whole = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    half = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    Order.objects.filter(pk=half.pk).update(ship_longitude=None)
    draft = ops_client.post("/api/v1/routing/rule-sets/", {"channel": "web"}, format="json").json()
    response = ops_client.post(f"/api/v1/routing/rule-sets/{draft['id']}/simulate/", {"last_n": 10}, format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["orders"] == 2
    assert whole.ship_longitude is not None
    assert 0 < report["active_metrics"]["avg_km_per_unit"] < 100  # the whole order's distance counts


def test_channel_tokens_cannot_touch_rule_sets(network, channel_client):
    assert channel_client.get("/api/v1/routing/rule-sets/").status_code == 403


@requires_postgres
def test_router_plans_again_when_another_order_took_the_stock(network, channel_client, picker_client_for,
                                                             monkeypatch):
    order = place(channel_client, ship_order(("RUN-BLK-42", 2), ("TEE-WHT-M", 1)))
    first = order.fulfillments.get()
    real = planner.engine_plan
    raced = []

    def plan_then_lose_the_race(order, needs_by_line, locations, held, rule_set, delivery_at=None):
        plan, result = real(order, needs_by_line, locations, held, rule_set, delivery_at)
        if not raced:  # a rival order (its own connection) grabs every free shirt at the chosen location
            raced.append(plan.take)
            rival = threading.Thread(target=grab_all_shirts, args=(next(iter(plan.take)),))
            rival.start()
            rival.join()
        return plan, result

    def grab_all_shirts(location_id):
        try:
            with transaction.atomic():
                level = StockLevel.objects.get(location_id=location_id, sku=network["shirt"])
                stock_reserve([ReserveRequest(level.pk, level.available, "rival")], reference_type="order_line")
        finally:
            connection.close()

    monkeypatch.setattr(planner, "engine_plan", plan_then_lose_the_race)
    # ST2 rejects: nothing is held any more, so the re-route must reserve anew and meets the rival.
    picker_client_for(network["ST2"]).post(f"/api/v1/fulfillments/{first.pk}/reject/", {"reason": "capacity"},
                                           format="json")
    decision = order.routing_decisions.last()
    assert raced == [{network["WH1"].pk: {network["shoe"].pk: 2, network["shirt"].pk: 1}}]
    assert (decision.trigger, decision.inputs["attempts"], decision.outcome) == ("rejected", 2, "routed")
    assert sorted(decision.plan, key=lambda a: a["sku"]) == [
        {"location": "ST1", "sku": "RUN-BLK-42", "qty": 2}, {"location": "ST9", "sku": "TEE-WHT-M", "qty": 1}]
    assert StockLevel.objects.get(location=network["WH1"], sku=network["shirt"]).reserved == 50
    from inventory.checks import inventory_violations

    assert inventory_violations() == []


def test_stock_vanishing_under_a_fulfillment_routes_it_elsewhere(network, channel_client):
    order = place(channel_client, ship_order(("RUN-BLK-42", 2)))
    fulfillment = order.fulfillments.get()
    reservation_ids = list(fulfillment.allocations.values_list("reservation_id", flat=True))
    # What a cycle count that found fewer shoes does on the inventory side:
    from inventory.services import reservations_release, stock_adjust

    with transaction.atomic():
        reservations_release(reservation_ids, reason="count")
        stock_adjust(stock_level=StockLevel.objects.get(location=fulfillment.location, sku=network["shoe"]),
                     delta=-3, reason="count")
        outbox.publish("inventory.reservations_released", "stock_level", 1, {
            "reason": "count",
            "reservations": [{"id": pk, "reference_type": "order_line", "reference_id": "x", "quantity": 2}
                             for pk in reservation_ids]})
    fulfillment.refresh_from_db()
    assert fulfillment.status == "cancelled"
    order.refresh_from_db()
    live = order.fulfillments.exclude(status="cancelled").get()
    assert live.location.code != fulfillment.location.code
    assert order.routing_decisions.last().trigger == "stock_correction"
    assert Reservation.objects.filter(status="open").count() == live.allocations.count()


def test_fulfillments_not_accepted_in_time_are_routed_again(network, channel_client, settings):
    order = place(channel_client, ship_order(("TEE-WHT-M", 1)))
    first = order.fulfillments.get()
    Fulfillment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timezone.timedelta(hours=2))
    assert reroute_unaccepted_fulfillments() == 1
    first.refresh_from_db()
    assert (first.status, first.rejection_reason) == ("rejected", "timeout")
    assert order.fulfillments.exclude(pk=first.pk).get().status == "pending"
    assert reroute_unaccepted_fulfillments() == 0


def test_backordered_orders_are_routed_oldest_first_when_stock_arrives(network, marketplace_client):
    ghost = factories.SkuFactory(code="GHOST-1")
    older = place(marketplace_client, ship_order((ghost.code, 1), email="a@example.com"))
    newer = place(marketplace_client, ship_order((ghost.code, 1), email="b@example.com"))
    assert reroute_backordered() == 0  # no stock yet: nothing to do, no noise
    with transaction.atomic():
        stock_receive(sku=ghost, location=network["WH1"], quantity=1, actor="test")
    assert reroute_backordered() == 1
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status) == ("allocated", "backordered")
    assert older.lines.get().backordered_quantity == 0
    assert outbox_sweep() == 0


def test_rejected_as_not_in_stock_corrects_the_stock_with_a_count(network, channel_client, picker_client_for):
    from inventory.models import StockMovement

    order = place(channel_client, ship_order(("RUN-BLK-42", 2)))
    first = order.fulfillments.get()
    store = first.location
    level = StockLevel.objects.get(location=store, sku=network["shoe"])
    on_hand = level.on_hand
    response = picker_client_for(store).post(f"/api/v1/fulfillments/{first.pk}/reject/",
                                             {"reason": "not_in_stock"}, format="json")
    assert response.status_code == 200, response.content
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (on_hand - 2, 0)
    assert StockMovement.objects.filter(stock_level=level, reason="count").values_list("delta", flat=True)[0] == -2
    order.refresh_from_db()
    assert order.fulfillments.exclude(pk=first.pk).get().location != store


@pytest.mark.parametrize("counted", [10**12, 10**20])
def test_a_rejection_count_beyond_any_stock_is_bad_input(network, channel_client, picker_client_for, counted):
    """A mistyped shelf count is a 400 naming the count (as every other count is capped at
    1,000,000), not a 500 from the integer column; nothing changes."""
    order = place(channel_client, ship_order(("RUN-BLK-42", 2)))
    first = order.fulfillments.get()
    before = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))
    response = picker_client_for(first.location).post(
        f"/api/v1/fulfillments/{first.pk}/reject/", {"reason": "not_in_stock", "counts": {"RUN-BLK-42": counted}},
        format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "counts.RUN-BLK-42"
    first.refresh_from_db()
    assert first.status == "pending"
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")) == before


def test_rejected_as_damaged_moves_the_units_to_damaged(network, channel_client, picker_client_for):
    order = place(channel_client, ship_order(("RUN-BLK-42", 1)))
    first = order.fulfillments.get()
    level = StockLevel.objects.get(location=first.location, sku=network["shoe"])
    picker_client_for(first.location).post(f"/api/v1/fulfillments/{first.pk}/reject/",
                                           {"reason": "damaged", "note": "sole torn"}, format="json")
    level.refresh_from_db()
    assert (level.damaged, level.reserved) == (1, 0)
    assert level.available == level.on_hand - 1
    from inventory.checks import inventory_violations

    assert inventory_violations() == []
