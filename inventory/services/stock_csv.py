"""Stock levels as CSV: export, and an all-or-nothing import.

Import sets quantities to the values in the file (through movements, reason "import") and
the min/max settings. Every row is validated first, against the stock levels locked in pk
order; a file with any bad row changes nothing and raises ImportRejected listing each bad
row with its line number (the header is line 1)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from inventory import locks
from inventory.errors import ImportRejected, ImportRowError
from inventory.models import Location, Sku, StockLevel
from inventory.services import ledger
from inventory.services.ledger import Ref
from inventory.services.reservations import holds_release_expired

EXPORT_COLUMNS = ["sku", "location", "on_hand", "safety_stock", "damaged", "quality_control", "reorder_point",
                  "reorder_target", "available"]
LEDGER_COLUMNS = ["on_hand", "safety_stock", "damaged", "quality_control"]
SETTING_COLUMNS = ["reorder_point", "reorder_target"]
IGNORED_COLUMNS = {"available", "reserved", "incoming"}  # derived or owned by other operations
MAX_ROWS = 50_000
MAX_VALUE = 1_000_000  # the API's cap on any quantity: more is a mistyped cell (and beyond an integer column)


def stock_export(out: io.TextIOBase | io.StringIO, levels: QuerySet[StockLevel] | None = None) -> int:
    """Write stock levels as CSV (EXPORT_COLUMNS); returns the rows written. A read, kept next
    to the import so the two formats cannot drift apart."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    qs = (levels if levels is not None else StockLevel.objects.all()).select_related("sku", "location")
    rows = 0
    for level in qs.order_by("sku__code", "location__code").iterator(chunk_size=2000):
        writer.writerow([level.sku.code, level.location.code, level.on_hand, level.safety_stock, level.damaged,
                         level.quality_control, level.reorder_point, level.reorder_target, level.available])
        rows += 1
    return rows


@dataclass
class ImportRow:
    line: int
    sku_code: str
    location_code: str
    values: dict[str, int] = field(default_factory=dict)
    sku: Sku | None = None
    location: Location | None = None


@dataclass(frozen=True)
class ImportResult:
    batch: str
    rows: int
    levels_created: int
    levels_changed: int
    movements: int


def stock_import(text: str, *, actor: str = "") -> ImportResult:
    """Apply a stock CSV (columns: sku, location, then any of on_hand, safety_stock, damaged,
    quality_control, reorder_point, reorder_target; an empty cell leaves that value as it
    is). A row whose on_hand would fall below what its level holds first has that level's
    expired checkout holds released (their units are sellable already). Caller holds a
    transaction; on ImportRejected it must roll back (nothing of the import was written)."""
    rows, errors = _parse(text)
    _resolve(rows, errors)
    existing = _existing_levels(rows)
    locked = locks.stock_levels_lock(level.pk for level in existing.values())
    targets = [(row, locked[level.pk]) for row in rows if row.sku and row.location
               and (level := existing.get((row.sku.pk, row.location.pk))) is not None]
    short = [level.pk for row, level in targets if _final(row, level, "on_hand") < _held(row, level)]
    if short and holds_release_expired(stock_level_ids=short):
        locked = locks.stock_levels_lock(list(locked))  # re-read under the locks held: the holds' units are free
    for row in rows:
        level = existing.get((row.sku.pk, row.location.pk)) if row.sku and row.location else None
        _check_against(row, locked.get(level.pk) if level else None, errors)
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.line, e.field)))
    return _apply(rows, existing, locked, actor)


def _parse(text: str) -> tuple[list[ImportRow], list[ImportRowError]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    problem = _header_problem(header)
    if problem:
        raise ImportRejected([ImportRowError(1, problem, "header")])
    rows: list[ImportRow] = []
    errors: list[ImportRowError] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            raise ImportRejected([ImportRowError(line, f"at most {MAX_ROWS} rows per file", "file")])
        if len(cells) != len(header):
            errors.append(ImportRowError(line, f"{len(cells)} cells, the header has {len(header)}"))
            continue
        if any("\x00" in c for c in cells):  # no database stores it (Postgres text refuses it)
            errors.append(ImportRowError(line, "contains a NUL character"))
            continue
        record = dict(zip(header, (c.strip() for c in cells), strict=True))
        rows.append(_parse_row(line, record, errors))
    if not rows and not errors:
        raise ImportRejected([ImportRowError(2, "the file has no rows", "file")])
    return rows, errors


def _header_problem(header: list[str]) -> str:
    if "sku" not in header or "location" not in header:
        return "the header must name the columns sku and location"
    unknown = [h for h in header if h not in {"sku", "location", *LEDGER_COLUMNS, *SETTING_COLUMNS,
                                              *IGNORED_COLUMNS}]
    if unknown:
        return f"unknown column(s): {', '.join(unknown)}"
    duplicated = sorted({h for h in header if header.count(h) > 1})
    return f"column(s) named twice: {', '.join(duplicated)}" if duplicated else ""


def _parse_row(line: int, record: dict[str, str], errors: list[ImportRowError]) -> ImportRow:
    row = ImportRow(line, record["sku"], record["location"])
    errors.extend(ImportRowError(line, f"{column} is empty", column) for column in ("sku", "location")
                  if not record[column])
    for column in (*LEDGER_COLUMNS, *SETTING_COLUMNS):
        raw = record.get(column, "")
        if raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            errors.append(ImportRowError(line, f"{column} {raw!r} is not a whole number", column))
            continue
        if value < 0:
            errors.append(ImportRowError(line, f"{column} {value} is negative", column))
            continue
        if value > MAX_VALUE:
            errors.append(ImportRowError(line, f"{column} {value} is above {MAX_VALUE}", column))
            continue
        row.values[column] = value
    return row


def _resolve(rows: list[ImportRow], errors: list[ImportRowError]) -> None:
    codes = {row.sku_code for row in rows}
    skus: dict[str, Sku] = {}
    for sku in Sku.objects.filter(Q(code__in=codes) | Q(barcode__in=codes)):
        skus[sku.code] = sku
        if sku.barcode:
            skus[sku.barcode] = sku
    locations = {loc.code: loc for loc in Location.objects.filter(code__in={row.location_code for row in rows})}
    first_line: dict[tuple[int, int], int] = {}
    for row in rows:
        row.sku, row.location = skus.get(row.sku_code), locations.get(row.location_code)
        if row.sku_code and row.sku is None:
            errors.append(ImportRowError(row.line, f"unknown sku {row.sku_code!r}", "sku"))
        if row.location_code and row.location is None:
            errors.append(ImportRowError(row.line, f"unknown location {row.location_code!r}", "location"))
        if row.sku and row.location:
            key = (row.sku.pk, row.location.pk)
            if key in first_line:
                errors.append(ImportRowError(row.line, f"duplicate of line {first_line[key]} "
                                             f"({row.sku.code} @ {row.location.code})", "sku"))
            first_line.setdefault(key, row.line)


def _existing_levels(rows: Iterable[ImportRow]) -> dict[tuple[int, int], StockLevel]:
    pairs = {(row.sku.pk, row.location.pk) for row in rows if row.sku and row.location}
    if not pairs:
        return {}
    qs = StockLevel.objects.filter(sku_id__in={p[0] for p in pairs}, location_id__in={p[1] for p in pairs})
    return {(level.sku_id, level.location_id): level for level in qs if (level.sku_id, level.location_id) in pairs}


def _final(row: ImportRow, level: StockLevel | None, column: str) -> int:
    return row.values.get(column, getattr(level, column) if level else 0)


def _held(row: ImportRow, level: StockLevel | None) -> int:
    """Units the row's on_hand must still cover: reserved, and damaged and QC as the row leaves them."""
    return (level.reserved if level else 0) + _final(row, level, "damaged") + _final(row, level, "quality_control")


def _check_against(row: ImportRow, level: StockLevel | None, errors: list[ImportRowError]) -> None:
    """The row's final values must keep the stock level's rules (values read under its lock)."""
    def final(column: str) -> int:
        return _final(row, level, column)

    reserved = level.reserved if level else 0
    held = _held(row, level)
    if final("on_hand") < held:
        errors.append(ImportRowError(row.line, f"on_hand {final('on_hand')} is below reserved {reserved} + damaged "
                                     f"{final('damaged')} + quality_control {final('quality_control')}", "on_hand"))
    if final("reorder_target") and final("reorder_target") < final("reorder_point"):
        errors.append(ImportRowError(row.line, f"reorder_target {final('reorder_target')} is below reorder_point "
                                     f"{final('reorder_point')}", "reorder_target"))


def _apply(rows: list[ImportRow], existing: dict[tuple[int, int], StockLevel], locked: dict[int, StockLevel],
           actor: str) -> ImportResult:
    batch = uuid.uuid4().hex[:12]
    ref = Ref("import", batch)
    created = changed = movements = 0
    plan: list[tuple[StockLevel, ImportRow]] = []
    for row in rows:
        assert row.sku is not None and row.location is not None  # _resolve reported any other row
        level = existing.get((row.sku.pk, row.location.pk))
        if level is None:
            level, _ = StockLevel.objects.get_or_create(sku=row.sku, location=row.location)
            locked[level.pk] = level
            created += 1
        plan.append((locked[level.pk], row))
    for level, row in sorted(plan, key=lambda item: item[0].pk):
        deltas = {c: row.values[c] - getattr(level, c) for c in LEDGER_COLUMNS if c in row.values}
        # One UPDATE sets every state, so the check constraint sees only the final row.
        guard = ledger.unchanged(level, *deltas) if deltas else None
        if not ledger.apply(level.pk, deltas, ledger.IMPORT, guard=guard, ref=ref, actor=actor):
            raise ImportRejected([ImportRowError(row.line, "the stock level changed during the import; retry")])
        settings = {c: row.values[c] for c in SETTING_COLUMNS if c in row.values and row.values[c] != getattr(level, c)}
        if settings:
            StockLevel.objects.filter(pk=level.pk).update(**settings)
        moved = sum(1 for d in deltas.values() if d)
        movements += moved
        changed += 1 if moved or settings else 0
    return ImportResult(batch, len(rows), created, changed, movements)

