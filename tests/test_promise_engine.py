"""The delivery promise maths: cutoffs, weekends, same-day, pickup (no database)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from orders.promise import PromiseLocation, PromiseRequest, PromiseService, promise, ready_at

AMS = ZoneInfo("Europe/Amsterdam")
STORE = PromiseLocation(code="ST1", name="Kalverstraat", lat=52.3702, lng=4.8910, stock={"SHOE": 3},
                        can_pickup=True, can_same_day=True, processing_minutes=60, cutoff=time(18))
WAREHOUSE = PromiseLocation(code="WH1", name="Westpoort", lat=52.408, lng=4.780, stock={"SHOE": 50},
                            processing_minutes=120, open_weekdays=frozenset({0, 1, 2, 3, 4}), cutoff=time(16))
STANDARD = PromiseService("std", "Standard", transit_days=2, cutoff=time(17))
EXPRESS = PromiseService("exp", "Express", transit_days=1, cutoff=time(15))
SAME_DAY = PromiseService("sd", "Same day", transit_days=0, cutoff=time(14), is_same_day=True, max_distance_km=30)
PRICES = {"std": Decimal("4.95"), "exp": Decimal("7.95"), "sd": Decimal("9.95")}


def price(code: str, grams: int, km: float) -> Decimal:
    return PRICES[code] + (Decimal("1.00") if km > 5 else Decimal("0"))


def ask(now: datetime, **kw) -> dict[str, object]:
    request = PromiseRequest(now=now, cart={"SHOE": 1}, weight_grams=900, lat=52.3760, lng=4.8970, **kw)
    return {o.id: o for o in promise(request, [STORE, WAREHOUSE], [STANDARD, EXPRESS, SAME_DAY], price)}


def test_a_tuesday_morning_order_gets_every_option():
    options = ask(datetime(2026, 12, 1, 10, 0, tzinfo=AMS))  # Tuesday 10:00
    assert list(options) == ["ship:std", "ship:exp", "ship:sd", "pickup:ST1"]
    assert options["ship:std"].earliest.date().isoformat() == "2026-12-03"  # leaves Tue, +2 business days
    assert options["ship:std"].latest.date().isoformat() == "2026-12-04"
    assert options["ship:exp"].earliest.date().isoformat() == "2026-12-02"
    assert options["ship:sd"].earliest.date().isoformat() == "2026-12-01"
    assert options["ship:sd"].locations == ("ST1",)  # the warehouse cannot do same-day
    assert options["pickup:ST1"].earliest == datetime(2026, 12, 1, 11, 0, tzinfo=AMS)
    assert options["pickup:ST1"].cost == Decimal("0.00")


def test_after_the_cutoffs_the_dates_move_and_same_day_disappears():
    options = ask(datetime(2026, 12, 1, 15, 30, tzinfo=AMS))  # Tuesday 15:30: past express cutoff at pick-up
    assert "ship:sd" not in options  # ready 16:30, after the 14:00 same-day cutoff
    assert options["ship:exp"].earliest.date().isoformat() == "2026-12-03"  # leaves Wed
    assert options["ship:std"].earliest.date().isoformat() == "2026-12-03"  # ready 16:30 (store) < 17:00


def test_a_friday_evening_order_waits_for_the_weekend():
    options = ask(datetime(2026, 12, 4, 19, 0, tzinfo=AMS))  # Friday 19:00, after every cutoff
    # The store opens Saturday 09:00 and is ready 10:00, but carriers collect on Monday.
    assert options["pickup:ST1"].earliest == datetime(2026, 12, 5, 10, 0, tzinfo=AMS)
    assert options["ship:exp"].earliest.date().isoformat() == "2026-12-08"  # leaves Mon, arrives Tue
    assert options["ship:std"].earliest.date().isoformat() == "2026-12-09"
    assert "ship:sd" not in options


def test_the_warehouse_does_not_work_weekends():
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=AMS)
    assert ready_at(WAREHOUSE, saturday) == datetime(2026, 12, 7, 11, 0, tzinfo=AMS)  # Monday 09:00 + 2 h


def test_no_pickup_beyond_the_radius_or_without_the_whole_cart():
    request = PromiseRequest(now=datetime(2026, 12, 1, 10, 0, tzinfo=AMS), cart={"SHOE": 4}, weight_grams=900,
                             lat=52.3760, lng=4.8970)
    ids = [o.id for o in promise(request, [STORE, WAREHOUSE], [STANDARD], price)]
    assert ids == ["ship:std"]  # only the warehouse holds 4
    far = PromiseRequest(now=request.now, cart={"SHOE": 1}, weight_grams=900, lat=51.9, lng=4.5, pickup_radius_km=5)
    assert [o.id for o in promise(far, [STORE], [], price)] == []
