"""Hand-written reads and updates for the hottest queries of order capture and routing.

Django's query compiler costs about ten times the query itself on these one-row lookups
(0.45-1.0 ms of CPU against 0.085 ms for the same SELECT written out, measured on the bench
machine), and an order runs a dozen of them. Here a read is SQL written once, with the
column list taken from the model and every value bound as a parameter, and the rows become
model instances the way the ORM makes them: Django's own converters for each column
(JSON, decimals, SQLite's datetimes and booleans), then `Model.from_db`.

Use it only where a profile shows the compiler; everywhere else the ORM is clearer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

from omnichannel.instances import loaded

if TYPE_CHECKING:
    from django.db.models import Field

M = TypeVar("M", bound=Model)
_Converter = tuple[Any, list[Callable[..., Any]]]
_CONVERTERS: dict[tuple[str, type[Model]], list[_Converter]] = {}


_NAMES: dict[tuple, str] = {}  # quoted names and column lists, built once per backend
_VENDOR: list[str] = []


def vendor() -> str:
    """The database's vendor: `connection.vendor` without the proxy's per-thread lookup on
    every use (one database per process; its settings do not change while it runs)."""
    if not _VENDOR:
        _VENDOR.append(connections[DEFAULT_DB_ALIAS].vendor)
    return _VENDOR[0]


def columns(model: type[Model], alias: str) -> str:
    """`alias."col", ...` for every concrete field of `model`, in `_meta.concrete_fields` order."""
    key = (vendor(), model, "*", alias)
    if key not in _NAMES:
        quote = connection.ops.quote_name
        _NAMES[key] = ", ".join(f"{alias}.{quote(cast(str, f.column))}" for f in model._meta.concrete_fields)
    return _NAMES[key]


def table(model: type[Model]) -> str:
    key = (vendor(), model)
    if key not in _NAMES:
        _NAMES[key] = connection.ops.quote_name(model._meta.db_table)
    return _NAMES[key]


def column(model: type[Model], field: str) -> str:
    key = (vendor(), model, field)
    if key not in _NAMES:
        _NAMES[key] = connection.ops.quote_name(cast(str, cast("Field", model._meta.get_field(field)).column))
    return _NAMES[key]


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def _converters(model: type[Model]) -> list[_Converter]:
    key = (vendor(), model)
    if key not in _CONVERTERS:
        found = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            found.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))
        _CONVERTERS[key] = found
    return _CONVERTERS[key]


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from the values of `columns(model, ...)`, as the ORM would build it."""
    conn = connections[DEFAULT_DB_ALIAS]
    converted = list(values)
    for index, (col, converters) in enumerate(_converters(model)):
        for convert in converters:
            converted[index] = convert(converted[index], col, conn)
    return loaded(model, conn.alias, converted)


def split(row: Sequence[Any], *models: type[Model]) -> list[Model | None]:
    """The instances in a row of `columns(a, ...), columns(b, ...), ...` (a join), one per
    model; None for a model whose columns are all NULL (an outer join that found nothing)."""
    found, start = [], 0
    for model in models:
        values = row[start:start + width(model)]
        start += len(values)
        found.append(None if all(v is None for v in values) else instance(model, values))
    return found


ARRAY_FROM = 17  # values from which Postgres gets one array parameter


def in_list(column: str, values: Collection[Any], params: list[Any]) -> str:
    """`column IN (...)` for a raw query, appending the values to `params`. On Postgres, from
    ARRAY_FROM values on, one array parameter (`= ANY(%s)`): the driver then does not rewrite
    a placeholder per value. Fewer values stay placeholders: for the few ids of an order's
    hot queries Postgres spends less on them than on an array (measured with bench/ingest.py:
    ~0.6 ms of Postgres CPU an order more with arrays)."""
    if vendor() == "postgresql" and len(values) >= ARRAY_FROM:
        params.append(list(values))
        return f"{column} = ANY(%s)"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def instances(model: type[M], where: str, params: Sequence[Any], *, alias: str = "t") -> list[M]:
    """`SELECT <every column> FROM <model's table> AS alias <where>` as model instances."""
    sql = f"SELECT {columns(model, alias)} FROM {table(model)} {alias} {where}"  # noqa: S608 - identifiers from the model
    return [instance(model, row) for row in fetch(sql, params)]


def update(model: type[Model], pks: Sequence[Any], values: dict[str, Any] | None = None, *,
           add: dict[str, int] | None = None) -> int:
    """`UPDATE ... SET field = value, ..., counter = counter + n WHERE pk IN pks`: a
    queryset's `update()` without its compiler. Values are prepared as `save()` prepares
    them (a related instance stands for its pk); like `update()`, `auto_now` fields are left
    alone. Returns the number of rows changed."""
    pks = list(pks)
    if not pks:
        return 0
    sql, params = update_sql(model, pks, values, add=add)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def update_sql(model: type[Model], pks: Sequence[Any], values: dict[str, Any] | None = None, *,
               add: dict[str, int] | None = None) -> tuple[str, list[Any]]:
    """The statement `update` runs, and its parameters (pks not empty), for a caller that
    builds a larger statement around it."""
    meta = model._meta
    quote = connection.ops.quote_name
    sets: list[str] = []
    params: list[Any] = []
    for name, value in (values or {}).items():
        field = cast("Field", meta.get_field(name))
        if isinstance(value, Model):
            value = value.pk
        sets.append(f"{quote(cast(str, field.column))} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name, step in (add or {}).items():
        col = quote(cast(str, cast("Field", meta.get_field(name)).column))
        sets.append(f"{col} = {col} + %s")
        params.append(step)
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608 - identifiers from the model
           f"WHERE {in_list(quote(cast(str, meta.pk.column)), list(pks), params)}")
    return sql, params
