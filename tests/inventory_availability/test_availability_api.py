"""GET/POST /api/v1/availability/: network and channel views, buffers, scoping, validation."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from channels_sync.tokens import token_issue
from inventory.models import Location, Reservation, StockLevel
from inventory.selectors import availability_for_cart
from inventory.services import ReserveRequest, stock_receive, stock_reserve
from omnichannel import localcache
from tests import factories
from tests.conftest import client_with_token

pytestmark = pytest.mark.django_db

SHOE, SHOE_BARCODE, SHIRT, SHIRT_BARCODE = "RUN-BLK-42", "8712345000017", "TEE-WHT-M", "8712345000024"
ALL = ["ship", "pickup", "same_day", "returns"]
STORE = ["ship", "pickup", "returns"]


def loc(code, name, kind, available, capabilities):
    return {"code": code, "name": name, "kind": kind, "available": available, "capabilities": capabilities}


def level(network, sku, location):
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def set_states(network, sku, location, **quantities):
    """Held states set directly: these tests read them; the services that move units between
    states (and keep the ledger) are tested with those services."""
    StockLevel.objects.filter(pk=level(network, sku, location).pk).update(**quantities)


@pytest.fixture
def app_channel(network):
    channel = factories.ChannelFactory(code="app", name="App", kind="app", buffer_units=1)
    channel.feeding_locations.set([network["ST1"]])
    return channel


def test_ops_see_the_raw_network_per_location_and_every_channel_total(network, web_channel, app_channel,
                                                                        ops_client):
    response = ops_client.get("/api/v1/availability/", {"sku": SHOE})
    assert response.status_code == 200
    assert response.json() == {"view": "network", "channel": None, "items": [{
        "sku": SHOE, "requested": SHOE, "name": "Runner One black 42", "quantity": 1, "available": 25,
        "is_available": True,
        "locations": [loc("ST1", "Kalverstraat", "store", 3, ALL), loc("ST2", "De Pijp", "store", 2, STORE),
                      loc("WH1", "Westpoort DC", "warehouse", 20, ["ship"])],
        # app: only ST1, 1 unit held back -> 2; web: no feeding locations -> every active location
        "channels": [{"code": "app", "available": 2}, {"code": "web", "available": 25}],
    }]}


def test_a_channel_sees_its_feeding_locations_minus_units_then_percent_rounded_down(network, web_channel,
                                                                                  channel_client):
    web_channel.feeding_locations.set([network["ST1"], network["ST2"]])
    web_channel.buffer_units, web_channel.buffer_percent = 1, Decimal("50")
    web_channel.save()
    response = channel_client.get("/api/v1/availability/", {"sku": [SHOE, SHIRT_BARCODE]})
    assert response.status_code == 200
    body = response.json()
    assert (body["view"], body["channel"]) == ("channel", "web")
    shoe, shirt = body["items"]
    # shoe: ST1 (3-1)*0.5 = 1; ST2 (2-1)*0.5 = 0.5 -> 0 (not listed); WH1 does not feed web
    assert shoe == {"sku": SHOE, "requested": SHOE, "name": "Runner One black 42", "quantity": 1, "available": 1,
                    "is_available": True, "locations": [loc("ST1", "Kalverstraat", "store", 1, ALL)],
                    "channels": [{"code": "web", "available": 1}]}
    # shirt asked by barcode: ST2 (5-1)*0.5 = 2; WH1 and ST9 do not feed web
    assert (shirt["sku"], shirt["requested"], shirt["available"]) == (SHIRT, SHIRT_BARCODE, 2)
    assert shirt["locations"] == [loc("ST2", "De Pijp", "store", 2, STORE)]


def test_a_channel_without_feeding_locations_sees_every_active_location(network, web_channel, channel_client):
    web_channel.buffer_percent = Decimal("10")
    web_channel.save()
    Location.objects.filter(pk=network["ST2"].pk).update(is_active=False)
    body = channel_client.get("/api/v1/availability/", {"sku": SHIRT}).json()
    # WH1 50 * 0.9 = 45, ST9 10 * 0.9 = 9; ST2 is closed
    assert [(x["code"], x["available"]) for x in body["items"][0]["locations"]] == [("ST9", 9), ("WH1", 45)]
    assert body["items"][0]["available"] == 54


def test_available_subtracts_reserved_safety_damaged_and_quality_control_never_below_zero(network, ops_client):
    stock_reserve([ReserveRequest(level(network, "shoe", "WH1").pk, 2, "r-1")], reference_type="test")
    set_states(network, "shoe", "WH1", damaged=3, quality_control=1, safety_stock=4)  # 20-2-3-1-4 = 10
    set_states(network, "shoe", "ST2", safety_stock=5)  # 2 - 5: nothing to sell, not -3
    item = ops_client.get("/api/v1/availability/", {"sku": SHOE}).json()["items"][0]
    assert [(x["code"], x["available"]) for x in item["locations"]] == [("ST1", 3), ("WH1", 10)]
    assert item["available"] == 13


def test_an_expired_checkout_hold_is_available_at_once(network, ops_client):
    st1 = level(network, "shoe", "ST1")
    now = timezone.now()
    stock_reserve([ReserveRequest(st1.pk, 2, "cart-old")], reference_type=Reservation.HOLD,
                  expires_at=now - dt.timedelta(minutes=1))
    stock_reserve([ReserveRequest(st1.pk, 1, "cart-new")], reference_type=Reservation.HOLD,
                  expires_at=now + dt.timedelta(minutes=10))
    st2 = level(network, "shoe", "ST2")
    stock_reserve([ReserveRequest(st2.pk, 2, "cart-all")], reference_type=Reservation.HOLD,
                  expires_at=now - dt.timedelta(seconds=1))
    item = ops_client.get("/api/v1/availability/", {"sku": SHOE}).json()["items"][0]
    st1.refresh_from_db()
    st2.refresh_from_db()
    assert (st1.reserved, st2.reserved) == (3, 2)  # the periodic release has not run
    # ST1: 3 - 1 live hold; ST2: every unit held by an expired hold, so all 2 are available
    assert [(x["code"], x["available"]) for x in item["locations"]] == [("ST1", 2), ("ST2", 2), ("WH1", 20)]


def test_ops_may_look_through_a_channel_and_a_channel_only_through_its_own(network, web_channel, app_channel,
                                                                           ops_client, channel_client):
    through_app = ops_client.get("/api/v1/availability/", {"sku": SHOE, "channel": "app"}).json()
    assert (through_app["view"], through_app["channel"]) == ("channel", "app")
    assert [(x["code"], x["available"]) for x in through_app["items"][0]["locations"]] == [("ST1", 2)]
    own = channel_client.get("/api/v1/availability/", {"sku": SHOE, "channel": "web"})
    assert own.status_code == 200 and own.json()["channel"] == "web"
    other = channel_client.get("/api/v1/availability/", {"sku": SHOE, "channel": "app"})
    assert other.status_code == 403
    unknown = ops_client.get("/api/v1/availability/", {"sku": SHOE, "channel": "nope"})
    assert unknown.status_code == 400
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_channel", "channel")


def test_a_posted_cart_merges_lines_of_one_sku_and_says_whether_each_is_available(network, ops_client):
    cart = {"lines": [{"sku": SHOE, "quantity": 2}, {"sku": SHOE_BARCODE}, {"sku": SHIRT, "quantity": 70}]}
    response = ops_client.post("/api/v1/availability/", cart, format="json")
    assert response.status_code == 200
    got = [(i["sku"], i["requested"], i["quantity"], i["available"], i["is_available"])
           for i in response.json()["items"]]
    assert got == [(SHOE, SHOE, 3, 25, True), (SHIRT, SHIRT, 70, 65, False)]


def test_a_cart_check_may_leave_out_the_per_location_lists(network, ops_client):
    got = ops_client.get("/api/v1/availability/", {"sku": [SHOE, SHIRT], "locations": "false"}).json()["items"]
    assert [(i["sku"], i["available"], "locations" in i) for i in got] == [(SHOE, 25, False), (SHIRT, 65, False)]
    posted = ops_client.post("/api/v1/availability/", {"lines": [{"sku": SHOE, "quantity": 26}], "locations": False},
                             format="json").json()["items"]
    assert [(i["available"], i["is_available"], "locations" in i) for i in posted] == [(25, False, False)]


def test_an_unknown_sku_is_a_400_naming_the_entry(network, ops_client):
    response = ops_client.get("/api/v1/availability/", {"sku": [SHOE, "NOPE", "ALSO-NOPE"]})
    assert response.status_code == 400
    assert response.json() == {"code": "unknown_sku", "detail": "Unknown SKU 'NOPE'.", "field": "sku[1]",
                               "unknown": ["NOPE", "ALSO-NOPE"]}
    posted = ops_client.post("/api/v1/availability/", {"lines": [{"sku": SHOE}, {"sku": "NOPE"}]}, format="json")
    assert posted.status_code == 400
    assert (posted.json()["code"], posted.json()["field"]) == ("unknown_sku", "lines[1].sku")


def test_an_inactive_sku_is_unknown(network, ops_client):
    network["shoe"].is_active = False
    network["shoe"].save()
    assert ops_client.get("/api/v1/availability/", {"sku": SHOE}).json()["code"] == "unknown_sku"


def test_a_cart_holds_at_most_100_skus(db, ops_client):
    skus = factories.SkuFactory.create_batch(101)
    at_limit = ops_client.get("/api/v1/availability/", {"sku": [s.code for s in skus[:100]]})
    assert at_limit.status_code == 200 and len(at_limit.json()["items"]) == 100
    over = ops_client.get("/api/v1/availability/", {"sku": [s.code for s in skus]})
    assert over.status_code == 400
    assert (over.json()["code"], over.json()["field"]) == ("invalid", "sku")
    posted = ops_client.post("/api/v1/availability/", {"lines": [{"sku": s.code} for s in skus]}, format="json")
    assert (posted.status_code, posted.json()["field"]) == (400, "lines")


@pytest.mark.parametrize(("params", "field"), [({}, "sku"), ({"sku": ""}, "sku[0]")])
def test_a_missing_or_empty_sku_is_a_400(network, ops_client, params, field):
    response = ops_client.get("/api/v1/availability/", params)
    assert response.status_code == 400 and response.json()["field"] == field


def test_a_bad_cart_quantity_is_a_400(network, ops_client):
    response = ops_client.post("/api/v1/availability/", {"lines": [{"sku": SHOE, "quantity": 0}]}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "lines[0].quantity"


def test_callers_need_a_channel_token_or_a_staff_login(network, picker_client_for):
    assert APIClient().get("/api/v1/availability/", {"sku": SHOE}).status_code == 401
    plain = factories.UserFactory(username="nobody")
    nobody = client_with_token(token_issue(name="nobody", user=plain)[1])
    assert nobody.get("/api/v1/availability/", {"sku": SHOE}).status_code == 403
    picker = picker_client_for(network["ST1"])
    assert picker.get("/api/v1/availability/", {"sku": SHOE}).json()["view"] == "network"


def test_a_20_sku_cart_over_30_locations_is_a_fixed_number_of_queries(db, web_channel, channel_client,
                                                                      django_assert_num_queries):
    locations = factories.LocationFactory.create_batch(30)
    skus = factories.SkuFactory.create_batch(20)
    for location in locations:
        for sku in skus:
            stock_receive(sku=sku, location=location, quantity=5)
    web_channel.feeding_locations.set(locations[:10])
    # token, channel feed, SKUs, stock rows (expired holds joined), their locations
    with django_assert_num_queries(5):
        response = channel_client.get("/api/v1/availability/", {"sku": [s.code for s in skus]})
    assert [i["available"] for i in response.json()["items"]] == [50] * 20
    # the token, the channel feeds and the locations are then this process's copies: SKUs, stock rows
    with django_assert_num_queries(2):
        again = channel_client.get("/api/v1/availability/", {"sku": [s.code for s in skus]})
    assert again.json() == response.json()


def test_a_channel_fed_by_many_locations_sees_only_those(db, web_channel, channel_client):
    locations = factories.LocationFactory.create_batch(24)
    sku = factories.SkuFactory()
    for n, location in enumerate(locations):
        stock_receive(sku=sku, location=location, quantity=n + 1)
    fed = locations[::2] + locations[1:13:2]  # 18; up to 16 are filtered in SQL, more in Python
    for feeding in (fed[:16], fed):
        web_channel.feeding_locations.set(feeding)
        item = channel_client.get("/api/v1/availability/", {"sku": sku.code}).json()["items"][0]
        assert sorted(x["code"] for x in item["locations"]) == sorted(location.code for location in feeding)
        assert item["available"] == sum(locations.index(location) + 1 for location in feeding)
        cart = availability_for_cart([sku.pk], [location.pk for location in feeding])
        assert cart.stock[sku.pk] == {location.pk: locations.index(location) + 1 for location in feeding}
        assert set(cart.locations) == {location.pk for location in feeding}


# --- the per-process copies of locations and channel feeds ------------------------------------------


def codes_for(client, sku=SHIRT) -> list[str]:
    return [x["code"] for x in client.get("/api/v1/availability/", {"sku": sku}).json()["items"][0]["locations"]]


def test_a_location_closed_in_the_admin_leaves_availability_at_once(network, ops_client):
    assert codes_for(ops_client) == ["ST2", "ST9", "WH1"]
    network["ST2"].is_active = False
    network["ST2"].save()
    assert codes_for(ops_client) == ["ST9", "WH1"]


def test_a_feeding_location_added_to_a_channel_counts_at_once(network, web_channel, channel_client):
    web_channel.feeding_locations.set([network["WH1"]])
    assert codes_for(channel_client) == ["WH1"]
    web_channel.feeding_locations.add(network["ST9"])
    assert codes_for(channel_client) == ["ST9", "WH1"]


def test_a_location_created_without_signals_is_shown_at_once(network, ops_client):
    assert codes_for(ops_client) == ["ST2", "ST9", "WH1"]
    [new] = Location.objects.bulk_create([Location(code="ST7", name="Noord", kind="store", address_line1="Buikslotermeerplein 1",
                                                   city="Amsterdam", postal_code="1025EV", latitude=52.40,
                                                   longitude=4.93)])
    stock_receive(sku=network["shirt"], location=new, quantity=3)
    assert codes_for(ops_client) == ["ST2", "ST7", "ST9", "WH1"]


def test_a_change_that_sends_no_signal_shows_within_five_seconds(network, ops_client, monkeypatch):
    assert codes_for(ops_client) == ["ST2", "ST9", "WH1"]
    Location.objects.filter(pk=network["ST2"].pk).update(is_active=False)  # no signal: another process, say
    assert codes_for(ops_client) == ["ST2", "ST9", "WH1"]
    later = time.monotonic() + 5.1
    monkeypatch.setattr(localcache.time, "monotonic", lambda: later)
    assert codes_for(ops_client) == ["ST9", "WH1"]


def test_a_copy_reloaded_before_a_change_commits_is_dropped_when_it_commits(network, ops_client,
                                                                           django_capture_on_commit_callbacks):
    from inventory.selectors import _LOCATIONS

    with django_capture_on_commit_callbacks(execute=True):
        network["ST2"].is_active = False
        network["ST2"].save()
        # another request of this process reloads before the commit: on another connection it
        # would still read ST2 as open, and keep that for 5 s
        _LOCATIONS.refresh()
        assert _LOCATIONS._expires > time.monotonic()
    assert _LOCATIONS._expires == 0.0  # the commit dropped it: the next read reloads
    assert codes_for(ops_client) == ["ST9", "WH1"]
