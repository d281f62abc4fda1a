"""Offline tests for the carrier interface and the built-in rate-card carrier.

Exact values everywhere: prices are Decimals, dates are fixed, labels are
compared byte for byte. The barcode round trip (PDF -> PNG -> decoded text)
needs poppler's `pdftoppm` and zbar's `zbarimg`; it is skipped, saying so,
only when those binaries are missing.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transport.carriers import (
    Address,
    Carrier,
    CarrierError,
    NotSupported,
    Parcel,
    RateNotAvailable,
    RateRequest,
    ShipmentRequest,
    TrackingStatus,
)
from transport.carriers.builtin import (
    BuiltinCarrier,
    BuiltinCarrierConfig,
    InvalidConfiguration,
    RateCardEntry,
    ServiceConfig,
    TrackingNumberScheme,
    damm_check_digit,
    distance_km,
    estimate_delivery,
    events_to_payload,
    is_valid_tracking_number,
    parcel_price,
)
from transport.carriers.builtin.label import printable

FIXTURES = Path(__file__).parent / "fixtures"
AMS = ZoneInfo("Europe/Amsterdam")
REPO_ROOT = Path(__file__).resolve().parents[2]

# 2025-06-04 is a Wednesday; 2025-06-09 is Whit Monday (used as a holiday).
WED, THU, FRI, SAT, SUN, MON, TUE = (date(2025, 6, d) for d in range(4, 11))
NEXT_WED = date(2025, 6, 11)

GRID = [  # (max_weight_grams, max_km, price): 3 tiers x 3 zones
    (1000, 10, "4.00"),
    (5000, 10, "6.00"),
    (20000, 10, "9.00"),
    (1000, 50, "5.00"),
    (5000, 50, "7.50"),
    (20000, 50, "11.00"),
    (1000, 200, "8.00"),
    (5000, 200, "10.00"),
    (20000, 200, "15.00"),
]


def carrier_data(**overrides: Any) -> dict[str, Any]:
    """Plain data as the Django layer would build it from DB rows (extra keys ignored)."""
    card = [{"id": i, "max_weight_grams": w, "max_km": km, "price": p} for i, (w, km, p) in enumerate(GRID)]
    data: dict[str, Any] = {
        "id": 7,
        "code": "local-fleet",
        "name": "Local Fleet",
        "currency": "EUR",
        "timezone": "Europe/Amsterdam",
        "tracking_prefix": "LF",
        "services": [
            {"code": "next_day", "name": "Next day", "transit_days": 1, "cutoff": "17:00", "rate_card": card},
            {"code": "standard", "name": "Standard", "transit_days": 2, "cutoff": "16:00", "rate_card": card},
            {
                "code": "same_day",
                "name": "Same day",
                "transit_days": 0,
                "cutoff": "12:00",
                "is_same_day": True,
                "max_distance_km": 25,
                "rate_card": [{"max_weight_grams": 5000, "max_km": 25, "price": "12.50"}],
            },
        ],
    }
    data.update(overrides)
    return data


FIXED_NOW = datetime(2025, 6, 4, 8, 0, tzinfo=UTC)  # Wednesday 10:00 in Amsterdam


def make_carrier(serial_start: int = 42, **overrides: Any) -> BuiltinCarrier:
    return BuiltinCarrier.from_dict(
        carrier_data(**overrides), serials=itertools.count(serial_start).__next__, clock=lambda: FIXED_NOW
    )


def point_north_of(origin: Address, km: float, name: str = "Customer") -> Address:
    """A destination `km` due north: along a meridian haversine is exactly R * dlat."""
    assert origin.lat is not None
    return Address(
        name=name,
        line1="Prinsengracht 263",
        city="Amsterdam",
        postal_code="1016 GV",
        country="NL",
        lat=origin.lat + math.degrees(km / 6371.0),
        lng=origin.lng,
    )


ORIGIN = Address(
    name="Omni Warehouse", line1="Keizersgracht 1", city="Amsterdam", postal_code="1015 CJ", country="NL",
    lat=52.0, lng=4.9,
)  # fmt: skip


def rate_request(km: float, *weights: int, **kwargs: Any) -> RateRequest:
    return RateRequest(
        origin=ORIGIN,
        destination=point_north_of(ORIGIN, km),
        parcels=tuple(Parcel(w) for w in weights),
        ship_date=kwargs.pop("ship_date", WED),
        **kwargs,
    )


def amounts(quotes: list[Any]) -> dict[str, Decimal]:
    return {q.service_code: q.amount for q in quotes}


# =========================================================================== rate card


def entry(weight: int, km: int, price: str) -> RateCardEntry:
    return RateCardEntry(weight, Decimal(km), Decimal(price))


CARD = tuple(entry(w, km, p) for w, km, p in GRID)


@pytest.mark.parametrize(
    ("weight", "km", "price"),
    [
        (1, "0", "4.00"),
        (1000, "10.000", "4.00"),  # exactly on both boundaries -> that tier and zone
        (1001, "10.000", "6.00"),  # 1 g over the tier -> next tier
        (1000, "10.001", "5.00"),  # 1 m over the zone -> next zone
        (5000, "50", "7.50"),
        (5001, "50.001", "15.00"),
        (20000, "200.000", "15.00"),  # the last cell, inclusive
    ],
)
def test_price_is_smallest_tier_and_zone_containing_the_parcel(weight: int, km: str, price: str) -> None:
    assert parcel_price(CARD, weight, Decimal(km)) == Decimal(price)


def test_beyond_last_tier_or_zone_is_rate_not_available_with_reason() -> None:
    with pytest.raises(RateNotAvailable, match=r"20001 g is above the heaviest tier \(20000 g\)") as exc:
        parcel_price(CARD, 20001, Decimal("1"))
    assert exc.value.code == "rate_not_available"
    with pytest.raises(RateNotAvailable, match=r"200.001 km is beyond the farthest zone \(200 km\)"):
        parcel_price(CARD, 1, Decimal("200.001"))


def test_sparse_card_uses_cheapest_covering_entry() -> None:
    card = (
        entry(30000, 100, "20.00"),
        entry(2000, 100, "3.00"),
        entry(2000, 5, "9.99"),
    )
    assert parcel_price(card, 1500, Decimal("4")) == Decimal("3.00")
    assert parcel_price(card, 2500, Decimal("4")) == Decimal("20.00")
    gap = (entry(1000, 100, "1"), entry(5000, 10, "2"))
    with pytest.raises(RateNotAvailable, match="no rate-card entry covers 2000 g at 50 km"):
        parcel_price(gap, 2000, Decimal("50"))


@pytest.mark.parametrize(("km", "expected"), [(10.0, "10.000"), (10.001, "10.001"), (0.0, "0.000")])
def test_distance_is_haversine_rounded_to_the_metre(km: float, expected: str) -> None:
    assert distance_km(ORIGIN, point_north_of(ORIGIN, km)) == Decimal(expected)


@pytest.mark.parametrize(
    ("km", "weight", "next_day"),
    [(10.0, 1000, "4.00"), (10.001, 1000, "5.00"), (10.0, 1001, "6.00"), (50.0, 5000, "7.50")],
)
def test_rate_at_zone_boundaries_from_real_coordinates(km: float, weight: int, next_day: str) -> None:
    quotes = make_carrier().rate(rate_request(km, weight, service_codes=["next_day"]))
    assert [(q.service_code, q.amount, q.currency) for q in quotes] == [
        ("next_day", Decimal(next_day), "EUR")
    ]


def test_multi_parcel_is_the_sum_over_parcels() -> None:
    quotes = make_carrier().rate(rate_request(30.0, 900, 4000, 20000))
    # next_day/standard: 5.00 + 7.50 + 11.00; same_day: 30 km is beyond its 25 km range.
    assert amounts(quotes) == {"next_day": Decimal("23.50"), "standard": Decimal("23.50")}


def test_rate_returns_all_available_services_cheapest_first() -> None:
    quotes = make_carrier().rate(rate_request(5.0, 800))
    assert [(q.service_code, q.amount) for q in quotes] == [
        ("next_day", Decimal("4.00")),  # same price as standard, earlier delivery first
        ("standard", Decimal("4.00")),
        ("same_day", Decimal("12.50")),
    ]
    assert [(q.transit_days, q.estimated_delivery) for q in quotes] == [(1, THU), (2, FRI), (0, WED)]
    assert quotes[0].service_name == "Next day"
    assert quotes[0].carrier == "local-fleet"


def test_rate_not_available_when_no_service_fits() -> None:
    with pytest.raises(RateNotAvailable) as exc:
        make_carrier().rate(rate_request(250.0, 1000))
    assert exc.value.message == (
        "service 'next_day', parcel 1: 250.000 km is beyond the farthest zone (200 km); "
        "service 'standard', parcel 1: 250.000 km is beyond the farthest zone (200 km); "
        "service 'same_day': 250.000 km is beyond its range (25 km)"
    )


def test_one_heavy_parcel_makes_the_service_unavailable() -> None:
    with pytest.raises(RateNotAvailable, match=r"service 'next_day', parcel 2: 20001 g is above"):
        make_carrier().rate(rate_request(5.0, 100, 20001, service_codes=["next_day"]))


def test_rate_errors_for_unknown_service_and_prices_missing_coordinates_at_the_farthest_zone() -> None:
    with pytest.raises(CarrierError) as exc:
        make_carrier().rate(rate_request(5.0, 100, service_codes=["express"]))
    assert exc.value.code == "unknown_service"
    no_coords = Address("X", "Street 1", "Utrecht", "3511", "NL")
    quotes = make_carrier().rate(RateRequest(ORIGIN, no_coords, (Parcel(100),), ship_date=WED))
    # 200 km is the card's farthest zone; the same-day courier's is its range (25 km).
    assert amounts(quotes) == {"next_day": Decimal("8.00"), "standard": Decimal("8.00"), "same_day": Decimal("12.50")}
    assert {(q.pricing_basis, q.distance_km) for q in quotes} == {("farthest_zone", None)}
    with pytest.raises(CarrierError) as exc:
        distance_km(ORIGIN, no_coords)
    assert exc.value.code == "missing_coordinates"


# =========================================================================== delivery dates


def service(transit_days: int = 1, cutoff: str = "17:00", same_day: bool = False) -> ServiceConfig:
    return ServiceConfig(
        code="s",
        name="S",
        transit_days=transit_days,
        cutoff=cutoff,  # type: ignore[arg-type]  # "HH:MM" is coerced
        rate_card=CARD,
        is_same_day=same_day,
    )


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


@pytest.mark.parametrize(
    ("ship_at", "transit", "expected"),
    [
        (at(WED, 16, 59), 1, THU),  # before cutoff
        (at(WED, 17, 0), 1, FRI),  # exactly at cutoff counts as after
        (at(WED, 23, 0), 1, FRI),
        (at(THU, 10), 1, FRI),
        (at(FRI, 16), 1, MON),  # Friday before cutoff: skip the weekend
        (at(FRI, 18), 1, TUE),  # Friday after cutoff: dispatch Monday, deliver Tuesday
        (at(SAT, 9), 1, TUE),  # weekend booking dispatches Monday
        (at(SUN, 20), 1, TUE),
        (at(THU, 10), 2, MON),
        (at(FRI, 18), 2, NEXT_WED),
        (at(WED, 10), 0, WED),  # zero transit: delivered on dispatch day
        (WED, 1, THU),  # a plain date means "before cutoff"
        (FRI, 1, MON),
    ],
)
def test_estimated_delivery_counts_business_days_after_cutoff(
    ship_at: date, transit: int, expected: date
) -> None:
    assert estimate_delivery(ship_at, service(transit)) == expected


@pytest.mark.parametrize(
    ("ship_at", "expected"),
    [(at(WED, 11, 59), WED), (at(WED, 12, 0), THU), (at(FRI, 13), MON), (at(SAT, 9), MON), (SUN, MON)],
)
def test_same_day_is_same_date_only_before_cutoff_on_a_business_day(ship_at: date, expected: date) -> None:
    assert estimate_delivery(ship_at, service(0, "12:00", same_day=True)) == expected


def test_holidays_are_not_business_days() -> None:
    whit_monday = {MON}
    assert estimate_delivery(at(FRI, 18), service(1), whit_monday) == NEXT_WED
    assert estimate_delivery(at(FRI, 10), service(1), whit_monday) == TUE


@pytest.mark.parametrize(
    ("ship_at", "expected"),
    [
        (datetime(2025, 6, 4, 14, 59, tzinfo=UTC), THU),  # 16:59 CEST
        (datetime(2025, 6, 4, 15, 0, tzinfo=UTC), FRI),  # 17:00 CEST
        (datetime(2025, 1, 8, 15, 59, tzinfo=UTC), date(2025, 1, 9)),  # 16:59 CET (winter)
        (datetime(2025, 1, 8, 16, 0, tzinfo=UTC), date(2025, 1, 10)),  # 17:00 CET
        (datetime(2025, 6, 4, 16, 59), THU),  # naive: already carrier-local
    ],
)
def test_aware_ship_times_are_judged_on_the_carrier_clock(ship_at: datetime, expected: date) -> None:
    quotes = make_carrier().rate(rate_request(5.0, 100, service_codes=["next_day"], ship_date=ship_at))
    assert quotes[0].estimated_delivery == expected


def test_missing_ship_date_uses_the_injected_clock() -> None:
    friday_evening = datetime(2025, 6, 6, 16, 30, tzinfo=UTC)  # 18:30 CEST
    carrier = BuiltinCarrier.from_dict(carrier_data(), clock=lambda: friday_evening)
    quotes = carrier.rate(rate_request(5.0, 100, service_codes=["next_day"], ship_date=None))
    assert quotes[0].estimated_delivery == TUE


def test_holidays_from_config_apply_to_quotes() -> None:
    carrier = make_carrier(holidays=["2025-06-09"])
    quotes = carrier.rate(rate_request(5.0, 100, service_codes=["next_day"], ship_date=at(FRI, 18)))
    assert quotes[0].estimated_delivery == NEXT_WED


# =========================================================================== tracking numbers


def test_damm_known_vector_and_tracking_number_shape() -> None:
    assert damm_check_digit("572") == 4  # the published example
    scheme = TrackingNumberScheme("LF")
    assert scheme.number_for(42) == "LF00000000427"
    assert scheme.number_for(0) == "LF00000000000"
    assert scheme.number_for(9_999_999_999).startswith("LF9999999999")
    assert make_carrier().tracking_number_for(42) == "LF00000000427"


def test_validator_accepts_issued_numbers_and_rejects_typos() -> None:
    assert is_valid_tracking_number("LF00000000427")
    assert is_valid_tracking_number("LF00000000427", prefix="LF")
    assert not is_valid_tracking_number("LF00000000428")  # wrong check digit
    assert not is_valid_tracking_number("LF00000000437")  # one digit typed wrong
    assert not is_valid_tracking_number("LF00000004027")  # adjacent digits swapped
    assert not is_valid_tracking_number("LF00000000427", prefix="XY")  # someone else's
    assert not is_valid_tracking_number("lf00000000427")
    assert not is_valid_tracking_number("LF0000000427")  # a digit missing
    assert not is_valid_tracking_number(" LF00000000427")
    assert not is_valid_tracking_number(None)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(serial=st.integers(0, 9_999_999_999), position=st.integers(0, 10), delta=st.integers(1, 9))
def test_every_single_digit_typo_is_caught(serial: int, position: int, delta: int) -> None:
    number = TrackingNumberScheme("LF").number_for(serial)
    digits = list(number[2:])
    digits[position] = str((int(digits[position]) + delta) % 10)
    assert not is_valid_tracking_number("LF" + "".join(digits))


@settings(max_examples=200, deadline=None)
@given(serial=st.integers(0, 9_999_999_999), position=st.integers(0, 9))
def test_every_adjacent_transposition_is_caught(serial: int, position: int) -> None:
    number = TrackingNumberScheme("LF").number_for(serial)
    digits = list(number[2:])
    if digits[position] == digits[position + 1]:
        return  # swapping equal digits is not an error
    digits[position], digits[position + 1] = digits[position + 1], digits[position]
    assert not is_valid_tracking_number("LF" + "".join(digits))


@settings(max_examples=100, deadline=None)
@given(a=st.integers(0, 9_999_999_999), b=st.integers(0, 9_999_999_999))
def test_distinct_serials_give_distinct_numbers_and_round_trip(a: int, b: int) -> None:
    scheme = TrackingNumberScheme("LF")
    assert scheme.serial_of(scheme.number_for(a)) == a
    assert (scheme.number_for(a) == scheme.number_for(b)) == (a == b)


def test_serials_out_of_range_are_refused_not_wrapped() -> None:
    scheme = TrackingNumberScheme("LF")
    with pytest.raises(ValueError, match="within 0..9999999999"):
        scheme.number_for(10_000_000_000)
    with pytest.raises(ValueError):
        scheme.number_for(-1)
    with pytest.raises(TypeError):
        scheme.number_for(True)
    with pytest.raises(ValueError):
        TrackingNumberScheme("L1")


def test_random_numbers_use_the_given_source() -> None:
    assert TrackingNumberScheme("LF").random_number(lambda upper: 42) == "LF00000000427"
    assert is_valid_tracking_number(TrackingNumberScheme("LF").random_number(), "LF")


# =========================================================================== shipments and labels


def shipment_request(*weights: int, reference: str = "ORD-1001", **kwargs: Any) -> ShipmentRequest:
    recipient = Address(
        name="Zoë Łukasiewicz",
        line1="Prinsengracht 263",
        line2="3rd floor",
        city="Amsterdam",
        postal_code="1016 GV",
        country="NL",
        phone="+31 20 555 0100",
        lat=ORIGIN.lat + math.degrees(30 / 6371.0),  # type: ignore[operator]
        lng=ORIGIN.lng,
    )
    return ShipmentRequest(
        service_code=kwargs.pop("service_code", "next_day"),
        origin=ORIGIN,
        destination=recipient,
        parcels=tuple(Parcel(w) for w in weights),
        reference=reference,
        ship_date=kwargs.pop("ship_date", at(FRI, 18)),
    )


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page(?![a-zA-Z])", pdf))


def test_create_shipment_numbers_each_parcel_and_prices_the_sum() -> None:
    response = make_carrier(serial_start=42).create_shipment(shipment_request(900, 4000))
    assert response.tracking_numbers == ("LF00000000427", "LF00000000434")
    assert response.master_tracking_number == "LF00000000427"
    assert (response.cost, response.currency) == (Decimal("12.50"), "EUR")  # 5.00 + 7.50 at 30 km
    assert response.estimated_delivery == TUE
    assert (response.carrier, response.service_code) == ("local-fleet", "next_day")
    assert response.label_media_type == "application/pdf"


def test_create_shipment_refuses_unavailable_rates_and_repeating_serials() -> None:
    with pytest.raises(RateNotAvailable):
        make_carrier().create_shipment(shipment_request(100, service_code="same_day"))  # 30 km > 25 km
    stuck = BuiltinCarrier.from_dict(carrier_data(), serials=lambda: 7, clock=lambda: FIXED_NOW)
    with pytest.raises(CarrierError) as exc:
        stuck.create_shipment(shipment_request(100, 200))
    assert exc.value.code == "duplicate_tracking_number"


def test_label_is_a_pdf_with_one_page_per_parcel() -> None:
    pdf = make_carrier().create_shipment(shipment_request(900, 4000, 1500)).label_pdf
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert page_count(pdf) == 3
    assert b"/MediaBox [ 0 0 288 432 ]" in pdf  # 4 x 6 inches
    assert page_count(make_carrier().create_shipment(shipment_request(900)).label_pdf) == 1


def test_label_bytes_are_deterministic() -> None:
    first = make_carrier().create_shipment(shipment_request(900, 4000)).label_pdf
    second = make_carrier().create_shipment(shipment_request(900, 4000)).label_pdf
    assert first == second
    other = make_carrier().create_shipment(shipment_request(900, 4000, reference="ORD-1002")).label_pdf
    assert other != first


def test_label_bytes_are_identical_across_processes() -> None:
    """Guards against hash-seed or global-state leaks into the PDF (e.g. set ordering)."""
    script = (
        "import sys, hashlib\n"
        "sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import test_builtin_carrier as t\n"
        "pdf = t.make_carrier().create_shipment(t.shipment_request(900, 4000)).label_pdf\n"
        "print(hashlib.sha256(pdf).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script, str(REPO_ROOT), str(Path(__file__).parent)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        digests.add(out.stdout.strip())
    import hashlib

    local = hashlib.sha256(make_carrier().create_shipment(shipment_request(900, 4000)).label_pdf).hexdigest()
    assert digests == {local}


def test_reprinting_with_the_stored_booking_time_gives_the_same_bytes() -> None:
    carrier = make_carrier()
    req = shipment_request(900, 4000)
    response = carrier.create_shipment(req)
    assert carrier.render_label(req, response.tracking_numbers, generated_at=FIXED_NOW) == response.label_pdf


def test_label_text_is_transliterated_to_what_the_pdf_fonts_can_show() -> None:
    assert printable("Zoë Łukasiewicz, Łódź, Straße, Ørsted, Ħal Far") == (
        "Zoë Lukasiewicz, Lódz, Straße, Ørsted, Hal Far"
    )
    assert printable("東京") == "??"


needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


@needs_pdftotext
def test_label_shows_sender_recipient_service_weight_reference_and_parcel_counter(tmp_path: Path) -> None:
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(make_carrier().create_shipment(shipment_request(900, 4000)).label_pdf)
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")
    first, second = pages[0], pages[1]
    for expected in [
        "Local Fleet", "Next day", "NEXT_DAY", "1/2", "FROM", "Omni Warehouse", "Keizersgracht 1",
        "TO", "Zoë Lukasiewicz", "Prinsengracht 263", "3rd floor", "1016 GV", "Amsterdam", "NL",
        "Tel. +31 20 555 0100", "0.900 kg", "ORD-1001", "2025-06-09", "1 of 2",
        "LF00000000427", "Generated 2025-06-04 10:00 CEST",
    ]:  # fmt: skip
        assert expected in first, expected
    assert "Shipment" in first  # master number shown on multi-parcel labels
    for expected in ["2/2", "4.000 kg", "2 of 2", "LF00000000434"]:
        assert expected in second, expected


barcode_tools = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
    reason="barcode round trip needs pdftoppm (poppler-utils) and zbarimg (zbar-tools)",
)


@barcode_tools
@pytest.mark.parametrize("page", [1, 2])
def test_label_barcode_decodes_to_the_tracking_number(tmp_path: Path, page: int) -> None:
    response = make_carrier().create_shipment(shipment_request(900, 4000))
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(response.label_pdf)
    png_base = tmp_path / "page"
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        ["pdftoppm", "-r", "200", *pages, "-png", "-singlefile", str(pdf), str(png_base)], check=True
    )
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Scode128.enable", f"{png_base}.png"], capture_output=True, text=True
    )
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.strip() == response.tracking_numbers[page - 1]


# =========================================================================== cancel / webhook / interface


def test_cancel_accepts_own_numbers_and_rejects_others() -> None:
    carrier = make_carrier()
    carrier.cancel_shipment("LF00000000427")  # no error: the number is ours
    with pytest.raises(CarrierError) as exc:
        carrier.cancel_shipment("LF00000000428")
    assert exc.value.code == "invalid_tracking_number"


def test_webhook_single_event_fixture() -> None:
    payload = json.loads((FIXTURES / "builtin_webhook_single.json").read_text())
    (event,) = make_carrier().parse_tracking_webhook(payload)
    assert event.tracking_number == "LF00000000427"
    assert event.status is TrackingStatus.OUT_FOR_DELIVERY
    assert event.occurred_at == datetime(2025, 6, 10, 8, 15, tzinfo=AMS)
    assert event.occurred_at.utcoffset() is not None
    assert (event.location, event.description) == ("Amsterdam depot", "On the van")


def test_webhook_batch_fixture_is_returned_in_time_order() -> None:
    payload = json.loads((FIXTURES / "builtin_webhook_batch.json").read_text())
    events = make_carrier().parse_tracking_webhook(payload)
    assert [(e.tracking_number, e.status.value) for e in events] == [
        ("LF00000000427", "in_transit"),
        ("LF00000000434", "in_transit"),
        ("LF00000000427", "delivered"),
        ("LF00000000434", "exception"),
    ]
    assert events[2].occurred_at == datetime(2025, 6, 10, 12, 0, tzinfo=UTC)  # "Z" accepted
    assert events[0].location == ""  # optional fields default to empty


def test_webhook_round_trips_through_events_to_payload() -> None:
    carrier = make_carrier()
    payload = json.loads((FIXTURES / "builtin_webhook_batch.json").read_text())
    events = carrier.parse_tracking_webhook(payload)
    assert carrier.parse_tracking_webhook(json.loads(json.dumps(events_to_payload(events)))) == events


GOOD_EVENT = {
    "tracking_number": "LF00000000427",
    "status": "delivered",
    "occurred_at": "2025-06-10T12:00:00Z",
}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([GOOD_EVENT], "body: expected a JSON object, got list"),
        ({"events": []}, "events: expected a non-empty list"),
        ({"events": [GOOD_EVENT, "x"]}, "events[1]: expected an object, got str"),
        ({**GOOD_EVENT, "status": None}, "body.status: is required"),
        (
            {**GOOD_EVENT, "status": "lost"},
            "body.status: 'lost' is not one of delivered, exception, in_transit",
        ),
        (
            {**GOOD_EVENT, "tracking_number": "LF00000000428"},
            "'LF00000000428' is not a tracking number of this",
        ),
        ({**GOOD_EVENT, "tracking_number": 42}, "body.tracking_number: expected a non-empty string"),
        (
            {**GOOD_EVENT, "occurred_at": "2025-06-10T12:00:00"},
            "body.occurred_at: '2025-06-10T12:00:00' has no UTC",
        ),
        ({**GOOD_EVENT, "occurred_at": "yesterday"}, "body.occurred_at: 'yesterday' is not an ISO 8601"),
        ({**GOOD_EVENT, "location": 5}, "body.location: expected a string, got 5"),
        ({"events": [GOOD_EVENT, {**GOOD_EVENT, "status": "gone"}]}, "events[1].status: 'gone'"),
    ],
)
def test_invalid_webhooks_raise_carrier_error_naming_the_field(payload: Any, message: str) -> None:
    with pytest.raises(CarrierError) as exc:
        make_carrier().parse_tracking_webhook(payload)
    assert exc.value.code == "invalid_webhook"
    assert message in exc.value.message


def test_base_carrier_defaults_to_not_supported() -> None:
    class RatesOnly(Carrier):
        code = "rates-only"
        name = "Rates only"

    carrier = RatesOnly()
    calls = [
        lambda: carrier.rate(rate_request(1.0, 100)),
        lambda: carrier.create_shipment(shipment_request(100)),
        lambda: carrier.cancel_shipment("X"),
        lambda: carrier.parse_tracking_webhook({}),
    ]
    for call in calls:
        with pytest.raises(NotSupported) as exc:
            call()
        assert isinstance(exc.value, CarrierError)
        assert exc.value.code == "not_supported"
        assert "'rates-only'" in str(exc.value)


def test_requests_are_frozen_and_validated() -> None:
    req = RateRequest(ORIGIN, ORIGIN, [Parcel(100), Parcel(200)], ["a"])  # type: ignore[arg-type]
    assert req.parcels == (Parcel(100), Parcel(200))  # lists are frozen to tuples
    assert req.service_codes == ("a",)
    with pytest.raises(AttributeError):
        req.origin = ORIGIN  # type: ignore[misc]
    with pytest.raises(ValueError):
        Parcel(0)
    with pytest.raises(TypeError):
        Parcel(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RateRequest(ORIGIN, ORIGIN, ())


# =========================================================================== configuration


def test_config_from_dict_coerces_plain_values() -> None:
    config = BuiltinCarrierConfig.from_dict(carrier_data())
    next_day = config.service("next_day")
    assert next_day is not None
    assert next_day.cutoff == time(17, 0)
    assert next_day.rate_card[0] == RateCardEntry(1000, Decimal("10"), Decimal("4.00"))
    assert config.service("same_day").max_distance_km == Decimal("25")  # type: ignore[union-attr]
    assert RateCardEntry(1000, 10.5, 4.95).price == Decimal("4.95")  # type: ignore[arg-type]


def test_tracking_prefix_defaults_to_letters_of_the_code() -> None:
    assert BuiltinCarrierConfig.from_dict(carrier_data(tracking_prefix="")).tracking_prefix == "LOCA"
    with pytest.raises(InvalidConfiguration, match="tracking_prefix"):
        BuiltinCarrierConfig.from_dict(carrier_data(code="x-1", tracking_prefix=None))


def _with_service(**changes: Any) -> dict[str, Any]:
    data = carrier_data()
    data["services"][0] = {**data["services"][0], **changes}
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with_service(cutoff="25:00"), "services[0].cutoff: expected 'HH:MM'"),
        (_with_service(transit_days=-1), "services[0].transit_days: must not be negative"),
        (_with_service(is_same_day=True), "services[0].transit_days: a same-day service needs 0"),
        (_with_service(rate_card=[]), "services[0].rate_card: must have at least one entry"),
        (
            _with_service(rate_card=[{"max_weight_grams": 1, "max_km": 1}]),
            "services[0].rate_card[0]: missing 'price'",
        ),
        (_with_service(rate_card=[{"max_weight_grams": 1, "max_km": 1, "price": "x"}]), "rate_card[0].price"),
        (
            _with_service(rate_card=[{"max_weight_grams": 1, "max_km": 1, "price": 1}] * 2),
            "two entries share the same weight tier and zone",
        ),
        (carrier_data(services=[]), "services: must have at least one service"),
        (carrier_data(timezone="Mars/Base"), "timezone: unknown IANA zone 'Mars/Base'"),
        (carrier_data(currency="euro"), "currency: expected an ISO 4217 code"),
        (carrier_data(holidays=["June 9"]), "holidays[]: expected an ISO date"),
    ],
)
def test_bad_configuration_fails_at_load_time_with_a_path(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfiguration) as exc:
        BuiltinCarrierConfig.from_dict(data)
    assert exc.value.code == "invalid_config"
    assert message in exc.value.message


def test_duplicate_service_codes_are_rejected() -> None:
    data = carrier_data()
    data["services"].append(dict(data["services"][0]))
    with pytest.raises(InvalidConfiguration, match=r"duplicate service codes \['next_day'\]"):
        BuiltinCarrierConfig.from_dict(data)
