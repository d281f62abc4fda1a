"""Reads of inventory that are more than a one-line filter."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple, cast

from django.db import connection, connections
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Replace, Upper
from django.utils import timezone

from inventory.engine.replenishment import SALE_REASONS, LevelFigures, Suggestion, suggest_transfers
from inventory.models import AVAILABLE_UNITS, Location, Reservation, Sku, StockLevel, StockMovement
from omnichannel import rawsql
from omnichannel.localcache import ProcessCache

AVAILABLE = AVAILABLE_UNITS


@dataclass(frozen=True)
class StockRow:
    stock_level_id: int
    sku_id: int
    location_id: int
    available: int


def skus_by_code(codes: Iterable[str]) -> dict[str, Sku]:
    """SKUs by code or barcode (scanners and channels send either)."""
    return skus_with_stock(codes, None)[0]


def skus_with_stock(codes: Iterable[str],
                    location_ids: Collection[int] | None) -> tuple[dict[str, Sku], list[StockRow]]:
    """`skus_by_code`, and with it (one statement) what `stock_rows` gives for those SKUs at
    `location_ids` (none when None): placement reads both for every order."""
    codes = sorted({c for c in codes if c})
    found: dict[str, Sku] = {}
    stock: list[StockRow] = []
    if not codes:
        return found, stock
    # Written out (omnichannel.rawsql): every order line is looked up here.
    params: list[Any] = []
    join = ""
    if location_ids:
        level = rawsql.table(StockLevel)
        col = {name: f"{level}.{rawsql.column(StockLevel, name)}" for name in ("id", "sku", "location")}
        available = _available_sql()  # its columns name the table, which is not aliased here
        join = (f"LEFT JOIN {level} ON {col['sku']} = t.{rawsql.column(Sku, 'id')} "
                f"AND {_in(col['location'], sorted(location_ids), params)} AND {available} > 0 ")
        extra = f", {col['id']}, {col['location']}, {available}"
    code, barcode = "t." + rawsql.column(Sku, "code"), "t." + rawsql.column(Sku, "barcode")
    where = (f"{join}WHERE ({_in(code, codes, params)} OR {_in(barcode, codes, params)}) "
             f"AND t.{rawsql.column(Sku, 'is_active')} = %s")
    params.append(True)
    if not join:
        rows: list[tuple[Sku, StockRow | None]] = [(sku, None) for sku in rawsql.instances(Sku, where, params)]
    else:
        width = rawsql.width(Sku)
        sql = f"SELECT {rawsql.columns(Sku, 't')}{extra} FROM {rawsql.table(Sku)} t {where}"  # noqa: S608
        skus: dict[int, Sku] = {}
        rows = []
        key = Sku._meta.concrete_fields.index(Sku._meta.pk)
        for row in rawsql.fetch(sql, params):
            sku_id = row[key]
            if sku_id not in skus:
                skus[sku_id] = rawsql.instance(Sku, row[:width])
            level_id, location_id, units = row[width:]
            rows.append((skus[sku_id], None if level_id is None else StockRow(level_id, sku_id, location_id, units)))
    for sku, stock_row in rows:
        if sku.code in codes:
            found[sku.code] = sku
        if sku.barcode in codes:
            found[sku.barcode] = sku
        if stock_row is not None:
            stock.append(stock_row)
    return found, stock


def locations_serving(method: str, pickup_location_id: int | None = None) -> list[Location]:
    """The active locations that can serve a delivery method (for pickup: the pickup location,
    if it offers pickup), from the per-process copy of active locations (_LOCATION_ROWS): one
    query less per order placed and per routing. The instances are shared: read them, never
    change or save them."""
    rows = _LOCATION_ROWS.get()
    if method == "pickup":
        if pickup_location_id is None:
            return []
        if not any(loc.pk == pickup_location_id for loc in rows):  # newer than this copy?
            rows = _LOCATION_ROWS.refresh()
        return [loc for loc in rows if loc.pk == pickup_location_id and loc.can_pickup]
    if method == "same_day":
        return [loc for loc in rows if loc.can_same_day]
    return [loc for loc in rows if loc.can_ship]


def _available_sql() -> str:
    """AVAILABLE as SQL over the stock level table, compiled once per database vendor from
    the one definition (inventory.models.AVAILABLE_UNITS)."""
    vendor = connection.vendor
    if vendor not in _AVAILABLE_SQL:
        query = StockLevel.objects.annotate(avail=AVAILABLE).query
        sql, params = query.get_compiler(connection=connection).compile(query.annotations["avail"])
        if params:
            raise ValueError("AVAILABLE must be made of columns only")
        _AVAILABLE_SQL[vendor] = sql
    return _AVAILABLE_SQL[vendor]


_AVAILABLE_SQL: dict[str, str] = {}


def stock_rows(sku_ids: Iterable[int], location_ids: Iterable[int] | None = None) -> list[StockRow]:
    """Available quantity per (SKU, location), positive rows only, without locks."""
    skus = sorted(set(sku_ids))
    locations = None if location_ids is None else sorted(set(location_ids))
    if not skus or locations == []:
        return []
    # Written out (omnichannel.rawsql): every capture and every routing reads it.
    col = {name: rawsql.column(StockLevel, name) for name in ("id", "sku", "location")}
    available = _available_sql()
    params: list[Any] = []
    sql = (f"SELECT {col['id']}, {col['sku']}, {col['location']}, {available} "  # noqa: S608
           f"FROM {rawsql.table(StockLevel)} WHERE {_in(col['sku'], skus, params)} AND {available} > 0")
    if locations is not None:
        sql += f" AND {_in(col['location'], locations, params)}"
    return [StockRow(pk, sku_id, loc_id, avail) for pk, sku_id, loc_id, avail in rawsql.fetch(sql, params)]


def stock_level_ids(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Stock level ids keyed (location_id, sku_id) for the pairs that have one."""
    rows = StockLevel.objects.filter(location_id__in={p[0] for p in pairs}, sku_id__in={p[1] for p in pairs})
    found = {(loc, sku): pk for pk, loc, sku in rows.values_list("pk", "location_id", "sku_id")}
    return {pair: found[pair] for pair in pairs if pair in found}


# --- Availability (issue #3): reads for the availability API, nearby and replenishment --------

LOCATION_REF_FIELDS = ("pk", "code", "name", "kind", "city", "postal_code", "latitude", "longitude",
                       "can_ship", "can_pickup", "can_same_day", "accepts_returns")


@dataclass(frozen=True)
class SkuRef:
    pk: int
    code: str
    barcode: str | None
    name: str


class LocationRef(NamedTuple):
    """A location as availability shows it (a NamedTuple: built by the hundred per request)."""

    pk: int
    code: str
    name: str
    kind: str
    city: str
    postal_code: str
    latitude: float
    longitude: float
    capabilities: tuple[str, ...]


CAPABILITIES = ("ship", "pickup", "same_day", "returns")  # in LOCATION_REF_FIELDS' flag order


def _location_ref(row: Sequence[Any]) -> LocationRef:
    pk, code, name, kind, city, postal_code, lat, lng = row[:8]
    capabilities = tuple(flag for flag, on in zip(CAPABILITIES, row[8:12], strict=True) if on)
    return LocationRef(pk, code, name, kind, city, postal_code, lat, lng, capabilities)


def sku_refs_by_code(codes: Iterable[str]) -> dict[str, SkuRef]:
    """Active SKUs keyed by every code or barcode asked for that names one. One query,
    no model instances (the availability path reads up to 100 at a time)."""
    wanted = {c for c in codes if c}
    found: dict[str, SkuRef] = {}
    rows = (Sku.objects.filter(Q(code__in=wanted) | Q(barcode__in=wanted), is_active=True)
            .values_list("pk", "code", "barcode", "name"))
    for pk, code, barcode, name in rows:
        ref = SkuRef(pk, code, barcode, name)
        for key in (code, barcode):
            if key in wanted:
                found[key] = ref
    return found


def _fetchall(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list queryset as the driver returns them, skipping the ORM's
    per-row iteration (a third of the time on a few hundred rows). Only for columns that need
    no conversion: integers, text, floats, booleans (0/1 on SQLite, used as truth values)."""
    sql, params = qs.query.sql_with_params()
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def location_by_postal_code(postal_code: str) -> LocationRef | None:
    """The first active location (by pk) with this postal code, ignoring case and spaces."""
    normal = "".join(postal_code.split()).upper()
    if not normal:
        return None
    row = (Location.objects.filter(is_active=True)
           .alias(normal=Replace(Upper("postal_code"), Value(" "), Value(""))).filter(normal=normal)
           .order_by("pk").values_list(*LOCATION_REF_FIELDS).first())
    return _location_ref(row) if row else None


def expired_holds(sku_ids: Collection[int]) -> dict[tuple[int, int], int]:
    """(sku_id, location_id) -> units of checkout holds that have expired but are still open
    (the periodic task has not released them yet). Reads add them back so `available`
    reflects an expiry at once; the reservation path releases them before it takes the
    units. Served by the partial index on open holds' expiry: it reads only expired holds
    (usually none)."""
    rows = (Reservation.objects.filter(status=Reservation.Status.OPEN, reference_type=Reservation.HOLD,
                                       expires_at__lte=timezone.now(), stock_level__sku_id__in=list(sku_ids))
            .order_by().values_list("stock_level__sku_id", "stock_level__location_id")
            .annotate(units=Sum("quantity")))
    return {(sku_id, location_id): units for sku_id, location_id, units in rows}


_in = rawsql.in_list


def _available_by_sku(sku_ids: Collection[int], location_ids: Collection[int] | None) -> dict[int, dict[int, int]]:
    """sku_id -> location_id -> available units (> 0) at any location (the caller drops
    inactive ones), with the units of expired-but-open checkout holds added back.

    One query: the SKUs' stock rows LEFT JOINed to the network's expired open holds (read
    through the partial index on open holds' expiry: usually none). Raw SQL because the ORM
    cannot join an aggregated subquery (a correlated one runs once per row), and because
    fetching plain integer tuples is ~1.5x faster than the ORM's per-row iteration on a
    4,000-row cart (see bench/availability.py)."""
    sku_ids = list(sku_ids)
    if not sku_ids or (location_ids is not None and not location_ids):
        return {sku_id: {} for sku_id in sku_ids}
    params: list[Any] = [Reservation.Status.OPEN, Reservation.HOLD, timezone.now()]
    where = _in("s.sku_id", sku_ids, params)
    # A few locations narrow the scan in SQL; a channel's feed of a hundred or more is cheaper to
    # apply to the rows in Python (Postgres compares each row with every element of the array).
    keep = set(location_ids) if location_ids is not None and len(location_ids) > 16 else None
    if location_ids is not None and keep is None:
        where += " AND " + _in("s.location_id", location_ids, params)
    units = "s.on_hand - s.reserved - s.safety_stock - s.damaged - s.quality_control + COALESCE(h.units, 0)"
    level, hold = StockLevel._meta.db_table, Reservation._meta.db_table
    # table and column names come from the models; every value is a bound parameter
    sql = (
        f"SELECT s.sku_id, s.location_id, {units} FROM {level} s "  # noqa: S608
        f"LEFT JOIN (SELECT stock_level_id, SUM(quantity) AS units FROM {hold} "
        f"WHERE status = %s AND reference_type = %s AND expires_at <= %s GROUP BY stock_level_id) h "
        f"ON h.stock_level_id = s.id WHERE {where} AND {units} > 0")
    stock: dict[int, dict[int, int]] = {sku_id: {} for sku_id in sku_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for sku_id, location_id, available in cursor.fetchall():
            if keep is None or location_id in keep:
                stock[sku_id][location_id] = available
    return stock


@dataclass(frozen=True)
class CartStock:
    stock: dict[int, dict[int, int]]  # sku_id -> active location_id -> available (> 0)
    locations: dict[int, LocationRef]  # every location named in `stock`


def availability_for_cart(sku_ids: Collection[int], location_ids: Collection[int] | None = None) -> CartStock:
    """Raw availability of a cart's SKUs at active locations (all, or `location_ids`), without
    locks. One query for the stock rows (expired holds added back); the locations they name come
    from a per-process copy (see _LOCATIONS).
    Buffers and channel views are applied by inventory.engine.availability."""
    stock = _available_by_sku(sku_ids, location_ids)
    named = {loc for per_location in stock.values() for loc in per_location}
    if not named:
        return CartStock(stock=stock, locations={})
    known = _LOCATIONS.get()
    if not named <= known.keys():  # a location newer than this process's copy
        known = _LOCATIONS.refresh()
    active = cast("dict[int, LocationRef]", {loc: known[loc] for loc in named if known.get(loc) is not None})
    if len(active) < len(named):  # some are closed
        stock = {sku: {loc: q for loc, q in per.items() if loc in active} for sku, per in stock.items()}
    return CartStock(stock=stock, locations=active)


def _every_location() -> dict[int, LocationRef | None]:
    """Every location by pk: its ref when active, None when closed."""
    rows = _fetchall(Location.objects.values_list(*LOCATION_REF_FIELDS, "is_active"))
    return {row[0]: _location_ref(row[:-1]) if row[-1] else None for row in rows}


# Locations change rarely and availability reads name up to all of them: a per-process copy,
# reloaded every 5 s and at once when a location is saved here (omnichannel.localcache).
_LOCATIONS: ProcessCache[dict[int, LocationRef | None]] = ProcessCache(_every_location, ttl=5.0, models=[Location])
_LOCATION_ROWS: ProcessCache[tuple[Location, ...]] = ProcessCache(
    lambda: tuple(Location.objects.filter(is_active=True)), ttl=5.0, models=[Location])


def pickup_stock(sku_id: int, location_ids: Collection[int] | None = None) -> list[tuple[LocationRef, int]]:
    """Active pickup locations holding the SKU, with their raw available units (expired
    checkout holds counted as available). Two queries: expired holds, stock joined with location."""
    expired = expired_holds([sku_id])
    qs = StockLevel.objects.filter(sku_id=sku_id, location__is_active=True, location__can_pickup=True)
    if not expired:
        qs = qs.alias(avail=AVAILABLE).filter(avail__gt=0)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    fields = [f"location__{name}" if name != "pk" else "location_id" for name in LOCATION_REF_FIELDS]
    found = []
    for row in qs.values_list(*fields, "on_hand", "reserved", "safety_stock", "damaged", "quality_control"):
        location = _location_ref(row[:-5])
        on_hand, reserved, safety, damaged, qc = row[-5:]
        units = on_hand - reserved - safety - damaged - qc + expired.get((sku_id, location.pk), 0)
        if units > 0:
            found.append((location, units))
    return found


# --- Replenishment ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplenishmentRow:
    figures: LevelFigures
    sku_code: str
    sku_name: str
    location_code: str


@dataclass(frozen=True)
class ReplenishmentScope:
    since: datetime
    window_days: int
    threshold_days: int
    location_id: int | None = None
    sku_ids: Collection[int] | None = None
    limit: int | None = None


def _units_sold(since: datetime) -> Coalesce:
    """Units that left each stock level as sales (on_hand outflows with a sale reason) since `since`."""
    sold = (StockMovement.objects.filter(stock_level=OuterRef("pk"), state=StockMovement.State.ON_HAND,
                                         reason__in=SALE_REASONS, delta__lt=0, created_at__gte=since)
            .order_by().values("stock_level").annotate(total=Sum(F("delta") * -1)).values("total"))
    return Coalesce(Subquery(sold, output_field=IntegerField()), 0)


def _figures_qs(scope: ReplenishmentScope, *, scoped: bool = True) -> QuerySet[StockLevel]:
    """Stock levels at active locations annotated `avail` (never below 0) and `sold` (units
    sold in the window). Filters on the annotations go through Q(), which the type checker
    does not resolve against the model."""
    qs = StockLevel.objects.filter(location__is_active=True).annotate(
        avail=Greatest(AVAILABLE, 0), sold=_units_sold(scope.since))
    if scoped and scope.location_id is not None:
        qs = qs.filter(location_id=scope.location_id)
    if scope.sku_ids is not None:
        qs = qs.filter(sku_id__in=list(scope.sku_ids))
    return qs.order_by("sku__code", "location__code")


def _rows(qs: QuerySet[Any], limit: int | None) -> list[ReplenishmentRow]:
    values = qs.values_list("pk", "sku_id", "location_id", "avail", "incoming", "reorder_point", "reorder_target",
                            "sold", "location__kind", "sku__code", "sku__name", "location__code")
    if limit is not None:
        values = values[:limit]
    return [ReplenishmentRow(LevelFigures(pk, sku, loc, avail, incoming, point, target, sold,
                                          kind == Location.Kind.WAREHOUSE), sku_code, sku_name, loc_code)
            for pk, sku, loc, avail, incoming, point, target, sold, kind, sku_code, sku_name, loc_code in values]


def replenishment_needs(scope: ReplenishmentScope) -> list[ReplenishmentRow]:
    """Managed levels (target > 0) whose available + incoming is at or below the reorder point."""
    qs = (_figures_qs(scope).filter(reorder_target__gt=0)
          .alias(position=F("avail") + F("incoming")).filter(position__lte=F("reorder_point")))
    return _rows(qs, scope.limit)


def replenishment_excess(scope: ReplenishmentScope, *, scoped: bool = True) -> list[ReplenishmentRow]:
    """Levels with available above target and more than threshold_days of cover (or no sales)."""
    qs = (_figures_qs(scope, scoped=scoped).filter(Q(avail__gt=F("reorder_target")))
          .alias(cover=F("avail") * scope.window_days, sold_threshold=F("sold") * scope.threshold_days)
          .filter(Q(sold=0) | Q(cover__gt=F("sold_threshold"))))
    return _rows(qs, scope.limit if scoped else None)


def replenishment_warehouses(scope: ReplenishmentScope) -> list[ReplenishmentRow]:
    """Warehouse levels of the scope's SKUs holding more than their own reorder point."""
    qs = (_figures_qs(scope, scoped=False).filter(location__kind=Location.Kind.WAREHOUSE)
          .filter(Q(avail__gt=F("reorder_point"))))
    return _rows(qs, None)


@dataclass(frozen=True)
class ReplenishmentReport:
    needs: list[ReplenishmentRow]
    excess: list[ReplenishmentRow]
    suggestions: list[Suggestion]
    sku_codes: dict[int, str]
    location_codes: dict[int, str]


def replenishment_report(scope: ReplenishmentScope) -> ReplenishmentReport:
    """Needs and excess in the scope, and transfers pairing each need with sources anywhere
    in the network (sources are not limited by the scope's location)."""
    needs = replenishment_needs(scope)
    excess = replenishment_excess(scope)
    needy_skus = {row.figures.sku_id for row in needs}
    suggestions: list[Suggestion] = []
    sources: list[ReplenishmentRow] = []
    warehouses: list[ReplenishmentRow] = []
    if needy_skus:
        source_scope = replace(scope, sku_ids=needy_skus, location_id=None, limit=None)
        sources = replenishment_excess(source_scope, scoped=False)
        warehouses = replenishment_warehouses(source_scope)
        suggestions = suggest_transfers([r.figures for r in needs], [r.figures for r in sources],
                                        [r.figures for r in warehouses], window_days=scope.window_days,
                                        threshold_days=scope.threshold_days)
    every = [*needs, *excess, *sources, *warehouses]
    return ReplenishmentReport(
        needs=needs, excess=excess, suggestions=suggestions,
        sku_codes={r.figures.sku_id: r.sku_code for r in every},
        location_codes={r.figures.location_id: r.location_code for r in every})


def stock_levels_at(location_id: int, sku_ids: Iterable[int]) -> list[StockLevel]:
    """The stock levels of these SKUs at one location (for services that then lock them)."""
    return list(StockLevel.objects.filter(location_id=location_id, sku_id__in=list(sku_ids)).order_by("pk"))
