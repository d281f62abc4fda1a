"""The demo seed, the api_token command and the Django admin of every model."""

from __future__ import annotations

from collections import defaultdict
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels_sync.models import ApiToken, SalesChannel
from inventory.models import Location, Sku, StockLevel, StockMovement
from omnichannel.admin import json_table
from orders.models import Order
from transport.models import CarrierService, RateCardEntry

PROJECT_APPS = ["kernel", "inventory", "transport", "warehouse", "orders", "channels_sync"]
ORDER_SKU = "RUN1-BLK-42"


@pytest.fixture(scope="module")
def demo_network(django_db_setup, django_db_blocker):
    """Seeded once for this module (a seed takes seconds); each test still rolls back its own
    changes, and the module leaves the test database empty again."""
    with django_db_blocker.unblock():
        call_command("seed_demo", "--quiet")
    yield
    with django_db_blocker.unblock():
        call_command("flush", "--no-input")


@pytest.fixture
def seeded(demo_network, db):
    return None


@pytest.fixture
def superuser_client(seeded) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def api_token(**options) -> str:
    out = StringIO()
    call_command("api_token", stdout=out, **options)
    return out.getvalue().strip()


def place_order(django_capture_on_commit_callbacks, sku: str = ORDER_SKU) -> Order:
    token = api_token(channel="web")
    body = {"customer": {"email": "a@example.com", "name": "A"}, "delivery_method": "ship",
            "address": {"line1": "Damrak 1", "city": "Amsterdam", "postal_code": "1012LG", "country": "NL",
                        "latitude": 52.3765, "longitude": 4.8980},
            "lines": [{"sku": sku, "quantity": 1}]}
    with django_capture_on_commit_callbacks(execute=True):  # routing runs after commit (eager Celery)
        response = Client().post("/api/v1/orders/", body, content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def ean13_is_valid(code: str | None) -> bool:
    digits = [int(d) for d in code or ""]
    return len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


# --- seed_demo -----------------------------------------------------------------------------------------


def test_seed_demo_again_creates_nothing_new(seeded):
    first = row_counts()
    units = sum(StockLevel.objects.values_list("on_hand", flat=True))

    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    assert row_counts() == first
    assert sum(StockLevel.objects.values_list("on_hand", flat=True)) == units
    assert first["inventory.StockMovement"] == first["inventory.StockLevel"]  # one receipt per level, ever


def test_seed_demo_prints_a_summary_with_a_working_web_token(seeded):
    out = StringIO()
    call_command("seed_demo", stdout=out)

    text = out.getvalue()
    assert "admin" in text
    token = text.split("Web channel token:")[1].split()[0]
    assert token == api_token(channel="web")


def test_network_shape(seeded):
    assert Location.objects.filter(kind="warehouse", can_ship=True, can_pickup=False).count() >= 2
    stores = Location.objects.filter(kind="store")
    assert stores.count() >= 8
    assert stores.filter(can_ship=True, can_pickup=True, accepts_returns=True).count() == stores.count()
    assert stores.filter(can_same_day=True).exists()
    assert Sku.objects.count() >= 200
    assert all(ean13_is_valid(barcode) for barcode in Sku.objects.values_list("barcode", flat=True))
    policies = dict(SalesChannel.objects.values_list("code", "short_stock_policy"))
    assert policies == {"web": "reject", "app": "reject", "pos": "reject", "amazon": "backorder"}
    assert set(CarrierService.objects.values_list("code", flat=True)) == {
        "omnipost-standard", "omnipost-express", "omnipost-sameday"}
    assert RateCardEntry.objects.filter(service__code="omnipost-standard").count() == 24


def test_warehouses_hold_more_than_stores(seeded):
    per_kind = defaultdict(list)
    for kind, on_hand in StockLevel.objects.values_list("location__kind", "on_hand"):
        per_kind[kind].append(on_hand)
    assert min(per_kind["warehouse"]) > max(per_kind["store"])


def test_shoe_colours_are_stocked_at_different_locations(seeded):
    where: dict[str, set[str]] = defaultdict(set)
    rows = StockLevel.objects.filter(sku__product__name="Runner One", on_hand__gt=0)
    for sku_attributes, location in rows.values_list("sku__attributes", "location__code"):
        where[sku_attributes["colour"]].add(location)
        assert set(sku_attributes) == {"size", "colour"}

    assert len(where) >= 3
    assert len({frozenset(locations) for locations in where.values()}) == len(where)
    assert not any(code.startswith("WH-") for code in where["red"])  # red only in some stores


def test_check_inventory_passes_after_seeding(seeded):
    out = StringIO()
    call_command("check_inventory", stdout=out)
    assert "all invariants hold" in out.getvalue()


def test_demo_staff(seeded):
    ops = get_user_model().objects.get(username="ops")
    assert ops.is_staff and not ops.is_superuser and ops.staff.role == "ops"
    assert ops.has_perm("orders.view_order") and ops.has_perm("inventory.change_location")
    assert not ops.has_perm("inventory.add_stockmovement")
    picker = get_user_model().objects.get(username="picker-st-klv")
    assert picker.staff.role == "picker" and picker.staff.location_id == Location.objects.get(code="ST-KLV").pk
    assert get_user_model().objects.filter(username__startswith="picker-").count() == Location.objects.count()


# --- api_token -----------------------------------------------------------------------------------------


def test_api_token_prints_only_a_token_that_authenticates(seeded):
    token = api_token(channel="web")

    assert token.startswith("oc_") and "\n" not in token
    assert api_token(channel="web") == token  # shown again, not issued again
    response = Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


def test_api_token_for_a_user(seeded):
    token = api_token(user="ops")

    assert ApiToken.objects.filter(user__username="ops").count() == 1
    response = Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


@pytest.mark.parametrize("options", [{}, {"channel": "web", "user": "ops"}, {"channel": "nope"},
                                     {"user": "nobody"}])
def test_api_token_refuses_bad_options(seeded, options):
    tokens_before = ApiToken.objects.count()
    with pytest.raises(CommandError):
        api_token(**options)
    assert ApiToken.objects.count() == tokens_before


# --- admin ---------------------------------------------------------------------------------------------


def test_every_project_model_has_an_admin():
    registered = set(admin.site._registry)
    missing = [m._meta.label for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()
               if m not in registered]
    assert missing == []


def test_every_admin_changelist_and_change_page_renders(superuser_client, django_capture_on_commit_callbacks):
    place_order(django_capture_on_commit_callbacks)
    api_token(user="ops")

    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert superuser_client.get(url).status_code == 200, url
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert superuser_client.get(url).status_code == 200, url


def test_no_admin_change_list_reads_a_row_at_a_time(superuser_client, django_capture_on_commit_callbacks):
    """Ops open these lists all day: the queries of a page must not grow with its rows."""
    def queries_per_list() -> dict[str, int]:
        counts = {}
        for model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            with CaptureQueriesContext(connection) as ctx:
                assert superuser_client.get(url).status_code == 200, url
            counts[url] = len(ctx.captured_queries)
        return counts

    place_order(django_capture_on_commit_callbacks)
    one = queries_per_list()
    for _ in range(3):
        place_order(django_capture_on_commit_callbacks)
    more = queries_per_list()

    assert {url: (one[url], more[url]) for url in one if more[url] > one[url]} == {}


def test_order_change_page_shows_timeline_and_routing(superuser_client, django_capture_on_commit_callbacks):
    order = place_order(django_capture_on_commit_callbacks)

    response = superuser_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Timeline" in html
    assert "order.placed" in html
    assert ORDER_SKU in html
    assert order.routing_decisions.exists()
    assert "<th>location</th>" in html  # plan and candidates as tables, ids shown as codes
    chosen = order.fulfillments.get().location.code
    assert f"<td>{chosen}</td>" in html


def test_ops_staff_can_use_the_admin(seeded):
    client = Client()
    assert client.login(username="ops", password="demo-pass-123")

    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    assert client.get(reverse("admin:inventory_stocklevel_changelist")).status_code == 200


def test_stock_movements_cannot_be_written_in_the_admin(superuser_client):
    movement = StockMovement.objects.earliest("pk")
    before = (movement.delta, StockMovement.objects.count())

    assert superuser_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    change_url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    response = superuser_client.post(change_url, {"delta": 999, "state": "on_hand", "reason": "x"})
    assert response.status_code == 403
    delete_url = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 403

    movement.refresh_from_db()
    assert (movement.delta, StockMovement.objects.count()) == before


def test_stock_level_admin_shows_available_and_keeps_quantities_read_only(superuser_client):
    level = StockLevel.objects.filter(location__kind="warehouse").earliest("pk")
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    html = superuser_client.get(url).content.decode()
    assert 'name="on_hand"' not in html
    assert superuser_client.post(url, {"on_hand": level.on_hand + 100, "reserved": 0}).status_code == 403
    level.refresh_from_db()
    assert level.on_hand == StockMovement.objects.filter(stock_level=level).earliest("pk").delta
    changelist = superuser_client.get(reverse("admin:inventory_stocklevel_changelist") + "?o=3")
    assert changelist.status_code == 200
    assert "available" in changelist.content.decode().lower()


def test_api_token_admin_never_shows_the_hash_and_has_no_add_form(superuser_client):
    api_token(channel="web")
    token = ApiToken.objects.get(channel__code="web")

    url = reverse("admin:channels_sync_apitoken_change", args=[token.pk])
    html = superuser_client.get(url).content.decode()

    assert token.key_hash not in html and token.salt not in html
    assert token.key_hash[:8] in html
    assert superuser_client.get(reverse("admin:channels_sync_apitoken_add")).status_code == 403


def test_shipment_admin_links_to_the_label(superuser_client, django_capture_on_commit_callbacks):
    order = place_order(django_capture_on_commit_callbacks)
    fulfillment = order.fulfillments.get()
    base = f"/api/v1/fulfillments/{fulfillment.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        for step, body in [("accept", {}), ("start-picking", {}), ("picked", {}),
                           ("pack", {"packages": [{"weight_grams": 1200}]}), ("ship", {})]:
            response = superuser_client.post(f"{base}/{step}/", body, content_type="application/json")
            assert response.status_code == 200, (step, response.content)
    fulfillment.refresh_from_db()
    assert fulfillment.shipment is not None
    label_url = reverse("shipment-label", kwargs={"tracking_number": fulfillment.shipment.tracking_number})

    changelist = superuser_client.get(reverse("admin:transport_shipment_changelist")).content.decode()

    assert f'href="{label_url}"' in changelist
    label = superuser_client.get(label_url)
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"


def test_json_table_escapes_everything():
    rows = [{"location_id": "<b>x</b>", "note": {"k": "<script>alert(1)</script>"}}, {"extra": "&"}]

    html = str(json_table(rows))

    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "<th>extra</th>" in html and "&amp;" in html
    assert "&lt;i&gt;" in str(json_table({"not": "<i>a list</i>"}))
