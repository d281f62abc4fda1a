"""A carrier service's cutoff in the built-in carrier's plain-data configuration is read as
ops type it ("9:00", "09:00", "9:00:00", "17:30", and "17.30" as the admin reads it) and
anything else fails at load time, naming the field and saying why, never read as some
other time. (The admin's own cutoff field is tests/warehouse/test_time_of_day_inputs.py.)"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest

from omnichannel.timeofday import TimeOfDayInvalid, parse_time_of_day
from transport.carriers.builtin.config import (
    BuiltinCarrierConfig,
    InvalidConfiguration,
    RateCardEntry,
    ServiceConfig,
)
from transport.carriers.builtin.schedule import dispatch_date

CARD = (RateCardEntry(5000, 50, "4.95"),)  # type: ignore[arg-type]  # coerced to Decimal

ACCEPTED = [
    ("9:00", time(9, 0)), ("09:00", time(9, 0)), ("9:00:00", time(9, 0)), ("17:30", time(17, 30)),
    ("17.30", time(17, 30)), ("9:05", time(9, 5)), ("00:00", time(0, 0)), ("23:59", time(23, 59)),
    ("23:59:59", time(23, 59, 59)), (" 17:30 ", time(17, 30)),
]
# typed, and the reason the error gives
REFUSED = [
    ("25:00", "the hour 25 is past 23"), ("24:00", "the hour 24 is past 23"), ("9:60", "the minute 60 is past 59"),
    ("9:00:60", "the second 60 is past 59"), ("9", "got '9'"), ("abc", "got 'abc'"), ("", "got ''"),
    ("1730", "got '1730'"), ("9:5", "got '9:5'"), ("9.5", "got '9.5'"), ("17:30:00.5", "got '17:30:00.5'"),
    ("5pm", "got '5pm'"), ("-1:00", "got '-1:00'"), ("17:30+01:00", "got '17:30+01:00'"),
    ("１７:３０", "got '１７:３０'"),
]


def carrier(cutoff: Any) -> dict[str, Any]:
    card = [{"max_weight_grams": 5000, "max_km": 50, "price": "4.95"}]
    return {"code": "local", "name": "Local", "timezone": "Europe/Amsterdam",
            "services": [{"code": "next_day", "transit_days": 1, "cutoff": "17:00", "rate_card": card},
                         {"code": "early", "transit_days": 1, "cutoff": cutoff, "rate_card": card}]}


@pytest.mark.parametrize(("typed", "meant"), ACCEPTED)
def test_a_cutoff_is_read_as_ops_type_it(typed: str, meant: time) -> None:
    config = BuiltinCarrierConfig.from_dict(carrier(typed))

    early = config.service("early")
    assert early is not None and early.cutoff == meant
    assert ServiceConfig("s", "S", 1, typed, CARD).cutoff == meant  # type: ignore[arg-type]


@pytest.mark.parametrize(("typed", "why"), REFUSED)
def test_any_other_cutoff_fails_at_load_time_naming_the_field_and_why(typed: str, why: str) -> None:
    with pytest.raises(InvalidConfiguration) as error:
        BuiltinCarrierConfig.from_dict(carrier(typed))

    assert error.value.code == "invalid_config"
    assert error.value.message.startswith("services[1].cutoff: expected 'HH:MM'"), error.value.message
    assert why in error.value.message


@pytest.mark.parametrize("value", [None, 900, 9.0, True, date(2025, 6, 4), ["9:00"]])
def test_a_cutoff_that_is_not_text_or_a_time_is_refused(value: Any) -> None:
    with pytest.raises(InvalidConfiguration) as error:
        BuiltinCarrierConfig.from_dict(carrier(value))
    assert error.value.message.startswith("services[1].cutoff: expected 'HH:MM' as text"), error.value.message
    assert error.value.message.endswith(f"got {value!r}")


def test_a_long_value_is_not_quoted_whole() -> None:
    with pytest.raises(InvalidConfiguration) as error:
        BuiltinCarrierConfig.from_dict(carrier("9" * 500))
    assert len(error.value.message) < 200


def test_a_time_is_taken_as_it_is() -> None:
    assert BuiltinCarrierConfig.from_dict(carrier(time(9, 15))).service("early").cutoff == time(9, 15)  # type: ignore[union-attr]


def test_a_nine_oclock_cutoff_typed_without_the_leading_zero_works_at_nine() -> None:
    early = BuiltinCarrierConfig.from_dict(carrier("9:00")).service("early")
    assert early is not None
    wednesday, thursday = date(2025, 6, 4), date(2025, 6, 5)

    assert dispatch_date(datetime(2025, 6, 4, 8, 59), early.cutoff) == wednesday
    assert dispatch_date(datetime(2025, 6, 4, 9, 0), early.cutoff) == thursday


@pytest.mark.parametrize("typed", [typed for typed, _ in ACCEPTED] + [typed for typed, _ in REFUSED])
def test_the_carrier_config_and_the_admin_read_a_cutoff_alike(typed: str) -> None:
    """The admin's field and the carrier's plain configuration read a cutoff with one parser
    (omnichannel.timeofday_text): it means the same in both, or is refused by both."""
    try:
        admin: time | None = parse_time_of_day(typed)
    except TimeOfDayInvalid:
        admin = None
    try:
        config: time | None = ServiceConfig("s", "S", 1, typed, CARD).cutoff  # type: ignore[arg-type]
    except InvalidConfiguration:
        config = None
    assert config == admin
