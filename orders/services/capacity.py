"""Daily order capacity: how many fulfillments each location has taken today.

Routing and delivery promises read it for every order, so it is a counter
(`LocationDayLoad`), not a count of the day's fulfillments, which would cost more with
every order of the day. Every write goes through here: `fulfillments_taken` when routing
creates fulfillments, `fulfillments_dropped` when one is rejected or cancelled, each in the
caller's transaction, so the counter commits or rolls back with the change it counts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from omnichannel import rawsql
from orders.models import Fulfillment, LocationDayLoad

SHARDS = 8
NOT_COUNTED = {Fulfillment.Status.REJECTED, Fulfillment.Status.CANCELLED}


def _add(changes: Counter) -> None:
    """Add each (location id, day) -> delta to one of that day's rows, in one statement."""
    changes = Counter({key: delta for key, delta in changes.items() if delta})
    if not changes:
        return
    col = {name: rawsql.column(LocationDayLoad, name) for name in ("location", "day", "shard", "fulfillments")}
    table = rawsql.table(LocationDayLoad)
    rows, params = [], []
    for (location_id, day), delta in sorted(changes.items()):  # a fixed order: no deadlock between two writers
        rows.append("(%s, %s, %s, %s)")
        params += [location_id, connection.ops.adapt_datefield_value(day), random.randrange(SHARDS), delta]
    sql = (f"INSERT INTO {table} ({col['location']}, {col['day']}, {col['shard']}, {col['fulfillments']}) "  # noqa: S608
           f"VALUES {', '.join(rows)} ON CONFLICT ({col['location']}, {col['day']}, {col['shard']}) "
           f"DO UPDATE SET {col['fulfillments']} = {table}.{col['fulfillments']} + EXCLUDED.{col['fulfillments']}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _day(created_at: datetime | None) -> date:
    return timezone.localdate(created_at) if created_at is not None else timezone.localdate()


def fulfillments_taken(fulfillments: Iterable[Fulfillment]) -> None:
    """Count fulfillments just created. Caller holds the transaction that created them."""
    _add(Counter((f.location_id, _day(f.created_at)) for f in fulfillments))


def fulfillments_dropped(dropped: Iterable[tuple[int, datetime]]) -> None:
    """Stop counting fulfillments, given as (location id, created at), that were counted and
    are now rejected or cancelled. Caller holds the transaction that changed their status."""
    _add(Counter({key: -n for key, n in Counter((loc, _day(at)) for loc, at in dropped).items()}))


def orders_today(location_ids: Iterable[int]) -> dict[int, int]:
    """Fulfillments each location has taken today (locations with none are left out)."""
    ids = list(location_ids)
    if not ids:
        return {}
    col = {name: rawsql.column(LocationDayLoad, name) for name in ("location", "day", "fulfillments")}
    params: list[object] = [connection.ops.adapt_datefield_value(timezone.localdate())]
    sql = (f"SELECT {col['location']}, SUM({col['fulfillments']}) FROM {rawsql.table(LocationDayLoad)} "  # noqa: S608
           f"WHERE {col['day']} = %s AND {rawsql.in_list(col['location'], ids, params)} "
           f"GROUP BY {col['location']}")
    rows = rawsql.fetch(sql, params)
    return {location_id: int(total) for location_id, total in rows if total}
