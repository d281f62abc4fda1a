"""Plain-data configuration of the built-in rate-card carrier.

The Django layer owns the tables (carrier, services, rate-card rows); this
module only describes the shape it must hand over, either as these frozen
dataclasses or as plain dicts/lists via `BuiltinCarrierConfig.from_dict`
(e.g. built from `QuerySet.values()`). All coercion and validation happens in
`__post_init__`, so both paths share one set of rules and a bad row fails at
load time with a path to the offending field, not at quote time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnichannel.timeofday_text import TimeOfDayInvalid, parse_time_of_day
from transport.carriers.base import CarrierError

__all__ = [
    "BuiltinCarrierConfig",
    "InvalidConfiguration",
    "RateCardEntry",
    "ServiceConfig",
]

# A wall-clock time as ops type it ("9:00", "09:00", "17:30", "9:00:00", "17.30"): the one
# parser the admin and the API use too, which imports no Django.
_CUTOFF_FORMS = "H:MM, HH:MM, HH.MM or HH:MM:SS, e.g. 9:00 or 17:30"
_PREFIX_RE = re.compile(r"^[A-Z]{2,6}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_DERIVED_PREFIX_LEN = 4


class InvalidConfiguration(CarrierError):
    """The carrier/service/rate-card data is unusable (raised at load time)."""

    default_code = "invalid_config"


# --------------------------------------------------------------------------- coercion


def _decimal(value: Any, what: str) -> Decimal:
    """Accept Decimal/int/str (and float via its repr) but never bool.

    Floats go through `str` so 4.95 becomes Decimal("4.95"), not its binary
    approximation; money and zone limits must compare exactly.
    """
    if isinstance(value, bool):
        raise InvalidConfiguration(f"{what}: expected a number, got {value!r}")
    try:
        result = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidConfiguration(f"{what}: expected a number, got {value!r}") from None
    if not result.is_finite():
        raise InvalidConfiguration(f"{what}: must be finite, got {value!r}")
    return result


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfiguration(f"{what}: expected an integer, got {value!r}")
    return value


def _cutoff(value: Any, what: str) -> time:
    """Cutoffs are wall-clock times in the carrier's timezone: a `time`, or text as ops type
    it (`omnichannel.timeofday_text`), 00:00 to 23:59:59. Anything else is refused with why,
    never guessed ("9" is not 09:00, "25:00" not 01:00)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        raise InvalidConfiguration(f"{what}: expected 'HH:MM' as text ({_CUTOFF_FORMS}), got {value!r}")
    try:
        return parse_time_of_day(value)
    except TimeOfDayInvalid as exc:
        text = value.strip()
        shown = text if len(text) <= 20 else text[:20] + "..."
        why = f": {exc.reason}" if exc.reason else ""
        raise InvalidConfiguration(f"{what}: expected 'HH:MM' ({_CUTOFF_FORMS}), got {shown!r}{why}") from None


def _holiday(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidConfiguration(f"{what}: expected an ISO date, got {value!r}") from None


def _required(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise InvalidConfiguration(f"{path}: missing {key!r}")
    return data[key]


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class RateCardEntry:
    """One cell of a rate card: parcels up to this weight, up to this distance."""

    max_weight_grams: int
    max_km: Decimal
    price: Decimal

    def __post_init__(self) -> None:
        weight = _int(self.max_weight_grams, "max_weight_grams")
        if weight <= 0:
            raise InvalidConfiguration(f"max_weight_grams: must be positive, got {weight}")
        km = _decimal(self.max_km, "max_km")
        if km < 0:
            raise InvalidConfiguration(f"max_km: must not be negative, got {km}")
        price = _decimal(self.price, "price")
        if price < 0:
            raise InvalidConfiguration(f"price: must not be negative, got {price}")
        object.__setattr__(self, "max_km", km)
        object.__setattr__(self, "price", price)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "rate_card[]") -> RateCardEntry:
        try:
            return cls(
                max_weight_grams=_required(data, "max_weight_grams", path),
                max_km=_required(data, "max_km", path),
                price=_required(data, "price", path),
            )
        except InvalidConfiguration as exc:
            raise _at(path, exc) from None


@dataclass(frozen=True)
class ServiceConfig:
    """A service level (e.g. next-day) and its rate card.

    `transit_days` counts business days after dispatch; a same-day service must
    have 0. `max_distance_km`, when set, caps the service regardless of the
    rate card (courier range).
    """

    code: str
    name: str
    transit_days: int
    cutoff: time
    rate_card: tuple[RateCardEntry, ...]
    is_same_day: bool = False
    max_distance_km: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidConfiguration("code: must be a non-empty string")
        transit = _int(self.transit_days, "transit_days")
        if transit < 0:
            raise InvalidConfiguration(f"transit_days: must not be negative, got {transit}")
        if self.is_same_day and transit != 0:
            raise InvalidConfiguration(f"transit_days: a same-day service needs 0, got {transit}")
        object.__setattr__(self, "cutoff", _cutoff(self.cutoff, "cutoff"))
        object.__setattr__(self, "is_same_day", bool(self.is_same_day))
        if self.max_distance_km is not None:
            object.__setattr__(self, "max_distance_km", _decimal(self.max_distance_km, "max_distance_km"))
        self._check_rate_card()

    def _check_rate_card(self) -> None:
        entries = tuple(self.rate_card)
        if not entries:
            raise InvalidConfiguration("rate_card: must have at least one entry")
        if not all(isinstance(entry, RateCardEntry) for entry in entries):
            raise InvalidConfiguration("rate_card: entries must be RateCardEntry (use from_dict for dicts)")
        cells = [(entry.max_weight_grams, entry.max_km) for entry in entries]
        if len(set(cells)) != len(cells):
            raise InvalidConfiguration("rate_card: two entries share the same weight tier and zone")
        object.__setattr__(self, "rate_card", entries)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "services[]") -> ServiceConfig:
        rows = _required(data, "rate_card", path)
        if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
            raise InvalidConfiguration(f"{path}.rate_card: expected a list of entries")
        card = tuple(RateCardEntry.from_dict(row, f"{path}.rate_card[{i}]") for i, row in enumerate(rows))
        try:
            return cls(
                code=_required(data, "code", path),
                name=data.get("name") or _required(data, "code", path),
                transit_days=_required(data, "transit_days", path),
                cutoff=_required(data, "cutoff", path),
                rate_card=card,
                is_same_day=bool(data.get("is_same_day", False)),
                max_distance_km=data.get("max_distance_km"),
            )
        except InvalidConfiguration as exc:
            raise _at(path, exc) from None


@dataclass(frozen=True)
class BuiltinCarrierConfig:
    """Everything the built-in carrier needs; no I/O, no Django.

    `timezone` is where cutoffs and business days are evaluated (the depot's
    wall clock). `tracking_prefix` defaults to the first letters of `code`
    (2-6 letters A-Z); give carriers distinct prefixes unless their serials
    come from one shared sequence. `holidays` are non-business days on top of
    Saturday/Sunday.
    """

    code: str
    name: str
    services: tuple[ServiceConfig, ...]
    currency: str = "EUR"
    timezone: str = "UTC"
    tracking_prefix: str = ""
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidConfiguration("code: must be a non-empty string")
        object.__setattr__(self, "services", tuple(self.services))
        self._check_services()
        if not isinstance(self.currency, str) or not _CURRENCY_RE.match(self.currency):
            raise InvalidConfiguration(
                f"currency: expected an ISO 4217 code like 'EUR', got {self.currency!r}"
            )
        self._check_timezone()
        object.__setattr__(self, "tracking_prefix", self._prefix())
        holidays = frozenset(_holiday(day, "holidays[]") for day in self.holidays)
        object.__setattr__(self, "holidays", holidays)

    def _check_services(self) -> None:
        if not self.services:
            raise InvalidConfiguration("services: must have at least one service")
        codes = [service.code for service in self.services]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise InvalidConfiguration(f"services: duplicate service codes {duplicates}")

    def _check_timezone(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidConfiguration(f"timezone: unknown IANA zone {self.timezone!r}") from None

    def _prefix(self) -> str:
        prefix = (
            self.tracking_prefix
            or "".join(c for c in self.code.upper() if "A" <= c <= "Z")[:_DERIVED_PREFIX_LEN]
        )
        if not _PREFIX_RE.match(prefix):
            raise InvalidConfiguration(
                f"tracking_prefix: need 2-6 letters A-Z (set it explicitly), got {prefix!r}"
            )
        return prefix

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def service(self, code: str) -> ServiceConfig | None:
        return next((service for service in self.services if service.code == code), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuiltinCarrierConfig:
        """Build from plain data; unknown keys (ids, timestamps of DB rows) are ignored.

        Shape::

            {"code": "local", "name": "Local fleet", "currency": "EUR",
             "timezone": "Europe/Amsterdam", "tracking_prefix": "LF",
             "holidays": ["2025-12-25"],
             "services": [{"code": "next_day", "name": "Next day",
                           "transit_days": 1, "cutoff": "17:00",
                           "is_same_day": False, "max_distance_km": None,
                           "rate_card": [{"max_weight_grams": 2000,
                                          "max_km": 50, "price": "4.95"}]}]}
        """
        rows = _required(data, "services", "carrier")
        if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
            raise InvalidConfiguration("carrier.services: expected a list of services")
        services = tuple(ServiceConfig.from_dict(row, f"services[{i}]") for i, row in enumerate(rows))
        return cls(
            code=_required(data, "code", "carrier"),
            name=data.get("name") or _required(data, "code", "carrier"),
            services=services,
            currency=data.get("currency") or "EUR",
            timezone=data.get("timezone") or "UTC",
            tracking_prefix=data.get("tracking_prefix") or "",
            holidays=frozenset(data.get("holidays") or ()),
        )


def _at(path: str, exc: InvalidConfiguration) -> InvalidConfiguration:
    """Prefix an error with where it happened, unless it already says so."""
    message = exc.message if exc.message.startswith(path) else f"{path}.{exc.message}"
    return InvalidConfiguration(message)
