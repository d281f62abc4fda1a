"""Delivery-date promise for the built-in carrier.

Rules, all evaluated on the carrier's local wall clock (`config.timezone`):

1. Ship moment: an aware datetime is converted to the carrier timezone; a
   naive datetime is taken as already local; a plain `date` means "handed over
   before cutoff that day".
2. Dispatch day: the ship date, or the next calendar day when the ship time is
   at or after the service cutoff (a 17:00 cutoff means the 17:00 truck has
   gone). If that day is not a business day (Saturday, Sunday or a configured
   holiday) it rolls forward to the next business day.
3. Delivery: same-day services deliver on the dispatch day; other services add
   `transit_days` business days to the dispatch day.

So a 1-day service booked Friday after cutoff dispatches Monday and delivers
Tuesday; a same-day service booked Saturday delivers Monday.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, tzinfo

from transport.carriers.builtin.config import ServiceConfig

__all__ = ["add_business_days", "dispatch_date", "estimate_delivery", "is_business_day", "to_local"]

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


def to_local(moment: date, tz: tzinfo) -> date:
    """Express an aware datetime in carrier-local naive time; leave others alone."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(tz).replace(tzinfo=None)
    return moment


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < _SATURDAY and day not in holidays


def next_business_day(day: date, holidays: Collection[date] = ()) -> date:
    """`day` itself if it is a business day, else the first one after it."""
    while not is_business_day(day, holidays):
        day += _ONE_DAY
    return day


def add_business_days(day: date, count: int, holidays: Collection[date] = ()) -> date:
    """Step forward `count` business days (weekends/holidays don't count)."""
    for _ in range(count):
        day = next_business_day(day + _ONE_DAY, holidays)
    return day


def dispatch_date(ship_at: date, cutoff: time, holidays: Collection[date] = ()) -> date:
    """The business day the parcel leaves the depot (rules 1-2)."""
    if isinstance(ship_at, datetime):
        day = ship_at.date() + (_ONE_DAY if ship_at.time() >= cutoff else timedelta(0))
    else:
        day = ship_at
    return next_business_day(day, holidays)


def estimate_delivery(ship_at: date, service: ServiceConfig, holidays: Collection[date] = ()) -> date:
    """Promised delivery date for a carrier-local ship moment (rule 3)."""
    dispatched = dispatch_date(ship_at, service.cutoff, holidays)
    if service.is_same_day:
        return dispatched
    return add_business_days(dispatched, service.transit_days, holidays)
