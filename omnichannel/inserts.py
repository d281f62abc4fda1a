"""INSERT a row unless a unique constraint already holds one like it: one statement, no
savepoint.

Catching IntegrityError instead needs a savepoint around the INSERT (two more round trips),
since a failed statement aborts a Postgres transaction. `INSERT ... ON CONFLICT DO NOTHING
RETURNING` reports the same outcome without failing, on Postgres and on SQLite (3.35+).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Model
from psycopg.types.json import Jsonb

from omnichannel import jsonfast
from omnichannel.rawsql import vendor

M = TypeVar("M", bound=Model)


def insert_unless_conflict(obj: Model, conflict: Sequence[str] = ()) -> bool:
    """Insert `obj` (a new instance, its pk unset) and return True, with its pk set; or
    return False, writing nothing, when the row would break a unique constraint: the ones on
    the fields named in `conflict`, or any unique constraint when `conflict` is empty.
    Fields are prepared as `save()` prepares them (`auto_now_add` included); no signals are
    sent. Other errors (a foreign key, a check constraint) raise as usual."""
    meta = obj._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    target = (f"({', '.join(quote(cast(str, cast(models.Field, meta.get_field(name)).column)) for name in conflict)}) "
              if conflict else "")
    sql = (f"{_insert_head(meta, fields)}({', '.join(['%s'] * len(fields))}) "
           f"ON CONFLICT {target}DO NOTHING RETURNING {quote(cast(str, meta.pk.column))}")
    with connection.cursor() as cursor:
        cursor.execute(sql, _prepared([obj], fields))
        row = cursor.fetchone()
    if row is None:
        return False
    mark_saved([obj], [row[0]])
    return True


def insert_with_children(parent: Model, children: Sequence[Model], link: str) -> bool:
    """`insert_unless_conflict(parent)` (any unique constraint), then the `children` (new
    instances of one model whose foreign key `link` points at the parent) with the parent's
    new key; one statement on Postgres, a data-modifying CTE. False, writing nothing, on a
    clash; True with every pk set."""
    children = list(children)
    if connection.vendor != "postgresql" or not children:
        if not insert_unless_conflict(parent):
            return False
        for child in children:
            setattr(child, link, parent)
        insert_all(children)
        return True
    meta, child_meta = parent._meta, children[0]._meta
    fields = _fields(meta)
    link_field = cast(models.Field, child_meta.get_field(link))
    child_fields = _fields(child_meta, besides=link_field)
    key = ("postgresql", "with_children", meta.label, child_meta.label, link, len(children))
    sql = _SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        pk, child_pk = quote(cast(str, meta.pk.column)), quote(cast(str, child_meta.pk.column))
        # Each value cast to its column's type: values in a SELECT are not typed by the INSERT's columns.
        row = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in child_fields) + ")"
        names = ", ".join(f"c{i}" for i in range(len(child_fields)))
        sql = _cached(key, len(children), (
            f"WITH p AS ({_insert_head(meta, fields)}({', '.join(['%s'] * len(fields))}) "  # noqa: S608 - identifiers
            f"ON CONFLICT DO NOTHING RETURNING {pk}), "
            f"c AS (INSERT INTO {quote(child_meta.db_table)} ({quote(cast(str, link_field.column))}, "
            f"{', '.join(quote(cast(str, f.column)) for f in child_fields)}) SELECT p.{pk}, {names} FROM p, "
            f"(VALUES {', '.join([row] * len(children))}) AS v({names}) RETURNING {child_pk}) "
            f"SELECT p.{pk}, c.{child_pk} FROM p LEFT JOIN c ON TRUE"))
    with connection.cursor() as cursor:
        cursor.execute(sql, _prepared([parent], fields) + _prepared(children, child_fields))
        rows = cursor.fetchall()
    if not rows:
        return False
    mark_saved([parent], [rows[0][0]])
    for child in children:
        setattr(child, link, parent)
    mark_saved(children, sorted(child_pk_value for _, child_pk_value in rows))  # keys drawn in row order
    return True


def insert_sql(objs: Sequence[Model]) -> tuple[str, list[Any]]:
    """`INSERT INTO table (columns) VALUES (...), ...` for new instances of one model, and its
    parameters, for a caller that builds a larger statement around it (then `mark_saved`)."""
    meta = objs[0]._meta
    key = (vendor(), "insert", meta.label, len(objs))
    sql = _SQL.get(key)
    if sql is None:
        row = "(" + ", ".join(["%s"] * len(_fields(meta))) + ")"
        sql = _cached(key, len(objs), _insert_head(meta, _fields(meta)) + ", ".join([row] * len(objs)))
    return sql, _prepared(objs, _fields(meta))


# Statement texts by shape (vendor, kind, model, rows, ...): built once, the values are bound.
# Only for the few rows of an order's writes: a bulk INSERT's text is long and its row count varies.
_SQL: dict[tuple, str] = {}
_CACHED_ROWS = 32
_FIELDS: dict[tuple[str, str | None], list[models.Field]] = {}


def _cached(key: tuple, rows: int, sql: str) -> str:
    if rows <= _CACHED_ROWS:
        _SQL[key] = sql
    return sql


def _fields(meta, *, besides: Any = None) -> list[models.Field]:
    """The concrete fields an INSERT writes (all but the primary key, and `besides`). The same
    list every time, so `_prepared` finds its plan for it without looking at each field."""
    key = (meta.label, besides.name if besides is not None else None)
    fields = _FIELDS.get(key)
    if fields is None:
        fields = _FIELDS[key] = [f for f in meta.concrete_fields if not f.primary_key and f is not besides]
        _PLAN_LISTS[id(fields)] = (fields, [_plan(f, vendor()) for f in fields])  # kept alive: its id stays its own
    return fields


def insert_all_together(groups: Sequence[Sequence[Model]]) -> None:
    """`insert_all` for the new instances of several models (a list per model) in one
    statement on Postgres, a data-modifying CTE per model; one INSERT per model elsewhere.
    Sets every pk. For a few rows each (no batching).

    A foreign key may point at an unsaved instance of an earlier group (an allocation at the
    reservation inserted with it): the statement takes that row's new key (`_linked`)."""
    groups = [list(objs) for objs in groups if objs]
    if connection.vendor != "postgresql" or len(groups) < 2:
        for objs in groups:
            _take_related_keys(objs)
            insert_all(objs)
        return
    together(groups).run()


# A statement to run with others in one (`Together.run`): the CTEs it needs, as `name AS (...)`
# (names other than e<n> and i<n>, and other than the other statements' own), the statement
# (one that returns one value per row, which casts to bigint), and the parameters of both in
# that order. A data-modifying statement cannot have a WITH of its own inside another's.
Extra = tuple[Sequence[str], str, Sequence[Any]]


class Together:
    """The statement of `insert_all_together` on Postgres, built (each row's values prepared,
    `auto_now_add` fields set on the instances) and not run yet: `run()` runs it, with other
    statements of the caller's if any. Built by `together()`."""

    def __init__(self, groups: list[list[Model]], ctes: list[str], selects: list[str], params: list[Any]) -> None:
        self.groups, self.ctes, self.selects, self.params = groups, ctes, selects, params

    def run(self, extra: Sequence[Extra] = ()) -> list[list[Any]]:
        """Insert the rows and set their pks, in one statement with `extra`: other statements
        run as CTEs of it, so they commit or fail with the rows. Returns the values each of
        `extra` returned (a list per statement, in no particular order)."""
        ctes: list[str] = []
        for index, (before, sql, _) in enumerate(extra):
            ctes += [*before, f"e{index}(value) AS ({sql})"]
        ctes += self.ctes
        selects = [f"SELECT {-1 - index}, CAST(value AS bigint) FROM e{index}"  # noqa: S608 - no input
                   for index in range(len(extra))] + self.selects
        params = [value for _, _, values in extra for value in values] + self.params
        found: dict[int, list[Any]] = {index: [] for index in range(-len(extra), len(self.groups))}
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}", params)
            for index, value in cursor.fetchall():
                found[index].append(value)
        for index, objs in enumerate(self.groups):  # keys are drawn in row order within a statement
            mark_saved(objs, sorted(found[index]))
        for objs in self.groups:
            _take_related_keys(objs)
        return [found[-1 - index] for index in range(len(extra))]


def together(groups_given: Sequence[Sequence[Model]]) -> Together:
    """The statement of `insert_all_together` for `groups` (at least one row), on Postgres."""
    groups = [list(objs) for objs in groups_given if objs]
    if connection.vendor != "postgresql" or not groups:
        raise ValueError("together(): Postgres only, and some rows")
    quote = connection.ops.quote_name
    position: dict[int, tuple[int, int]] = {}  # id(instance) -> (group, row): where a link may point
    ctes, selects, params = [], [], []
    for index, objs in enumerate(groups):
        pk = quote(cast(str, objs[0]._meta.pk.column))
        links = _links(objs, position)
        _take_related_keys(objs, besides=links)
        if links:
            insert, values = _linked(objs, links, position)
        else:
            insert, values = insert_sql(objs)
        ctes.append(f"i{index} AS ({insert} RETURNING {pk})")
        selects.append(f"SELECT {index}, {pk} FROM i{index}")  # noqa: S608 - identifiers from the model
        params += values
        position.update({id(obj): (index, row) for row, obj in enumerate(objs)})
    return Together(groups, ctes, selects, params)


def _foreign_keys(meta) -> list[models.ForeignKey]:
    return [f for f in meta.concrete_fields if f.is_relation and (f.many_to_one or f.one_to_one)]


def _take_related_keys(objs: Sequence[Model], besides: Sequence[models.Field] = ()) -> None:
    """Each foreign key whose related instance was saved after it was assigned takes its key;
    one still unsaved is refused (what `save()` does before it inserts)."""
    for field in _foreign_keys(objs[0]._meta):
        if field in besides:
            continue
        for obj in objs:
            related = field.get_cached_value(obj, default=None)
            if related is not None and getattr(obj, field.attname) is None:
                if related.pk is None:
                    raise ValueError(f"{field}: points at an unsaved instance")
                setattr(obj, field.attname, related.pk)


def _links(objs: Sequence[Model], position: dict[int, tuple[int, int]]) -> list[models.ForeignKey]:
    """The foreign keys of `objs` that point at an unsaved instance of an earlier group."""
    found = []
    for field in _foreign_keys(objs[0]._meta):
        pointing = [field.get_cached_value(obj, default=None) for obj in objs]
        unsaved = [r for r in pointing if r is not None and r.pk is None]
        if not unsaved:
            continue
        if any(id(r) not in position for r in unsaved) or not field.target_field.primary_key:
            raise ValueError(f"{field}: an unsaved instance that no earlier group inserts (by its key)")
        found.append(field)
    return found


def _linked(objs: Sequence[Model], links: list[models.ForeignKey],
            position: dict[int, tuple[int, int]]) -> tuple[str, list[Any]]:
    """`INSERT ... SELECT` for a group with links: each linked column is the value given or,
    for a row pointing at an instance of group g inserted in this statement, the key of that
    group's row r (keys drawn in row order: the (r+1)th smallest). Rows in order (`o`), so
    their own keys are drawn in order too."""
    meta = objs[0]._meta
    fields = _fields(meta)
    params: list[Any] = []
    prepared = _prepared(objs, fields)
    width = len(fields)
    targets: dict[models.Field, set[int]] = {field: set() for field in links}
    for row, obj in enumerate(objs):
        params += prepared[row * width:(row + 1) * width]
        for field in links:
            related = field.get_cached_value(obj, default=None)
            group, at = position[id(related)] if related is not None and related.pk is None else (None, None)
            if group is not None:
                targets[field].add(group)
            params += [group, at]
        params.append(row)
    shape = tuple((field.name, tuple(sorted(groups))) for field, groups in targets.items())
    key = (vendor(), "linked", meta.label, len(objs), shape)
    sql = _SQL.get(key) or _cached(key, len(objs), _linked_sql(meta, len(objs), shape))
    return sql, params


def _linked_sql(meta, rows: int, shape: tuple[tuple[str, tuple[int, ...]], ...]) -> str:
    quote = connection.ops.quote_name
    fields = _fields(meta)
    names = [f"c{i}" for i in range(len(fields))]
    pointers = {name: f"l{i}" for i, (name, _) in enumerate(shape)}
    groups_of = dict(shape)
    out = []
    for field, name in zip(fields, names, strict=True):
        if field.name not in pointers:
            out.append(f"v.{name}")
            continue
        p = pointers[field.name]
        pk = quote(cast(str, cast("type[Model]", field.related_model)._meta.pk.column))
        choices = " ".join(f"WHEN {g} THEN (SELECT k FROM (SELECT {pk} AS k, "  # noqa: S608 - identifiers
                           f"row_number() OVER (ORDER BY {pk}) - 1 AS n FROM i{g}) AS r WHERE r.n = v.{p}a)"
                           for g in groups_of[field.name])
        out.append(f"COALESCE(v.{name}, CASE v.{p}g {choices} END)")
    columns = names + [c for p in pointers.values() for c in (f"{p}g", f"{p}a")] + ["o"]
    # Values in a SELECT are not typed by the INSERT's columns: the first row says each type.
    first = "(" + ", ".join([f"CAST(%s AS {f.db_type(connection)})" for f in fields]
                            + ["CAST(%s AS integer)"] * (2 * len(shape) + 1)) + ")"
    other = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = _insert_head(meta, fields).removesuffix("VALUES ")
    return (f"{head}SELECT {', '.join(out)} FROM (VALUES {', '.join([first] + [other] * (rows - 1))}) "  # noqa: S608
            f"AS v({', '.join(columns)}) ORDER BY v.o")


def insert_many_unless_conflict(objs: Sequence[Model], conflict: Sequence[str]) -> list[Model]:
    """`insert_unless_conflict` for several new instances of one model, in one statement.
    Returns those inserted (pks set); the others, whose `conflict` fields match a row already
    there (or an earlier one of `objs`), are left unsaved. The `conflict` fields must come
    back from the database as they were given (ids, text)."""
    objs = list(objs)
    if not objs:
        return []
    meta = objs[0]._meta
    quote = connection.ops.quote_name
    keys = [cast(models.Field, meta.get_field(name)) for name in conflict]
    key_columns = ", ".join(quote(cast(str, f.column)) for f in keys)
    insert, params = insert_sql(objs)
    sql = (f"{insert} ON CONFLICT ({key_columns}) DO NOTHING "
           f"RETURNING {quote(cast(str, meta.pk.column))}, {key_columns}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = {tuple(found[1:]): found[0] for found in cursor.fetchall()}
    inserted = []
    for obj in objs:
        pk = pks.pop(tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in keys), None)
        if pk is not None:
            mark_saved([obj], [pk])
            inserted.append(obj)
    return inserted


def mark_saved(objs: Sequence[Model], pks: Sequence[Any]) -> None:
    """After an INSERT written by hand: each instance gets its pk and counts as saved."""
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS  # the database `connection` stands for


def insert_all(objs: Sequence[M], *, batch: int = 500) -> list[M]:
    """INSERT new instances of one model, `batch` rows per statement, and set their pks:
    `bulk_create` without its query compiler, which costs several times the statement on
    the small inserts of every order (omnichannel.rawsql). Fields are prepared as `save()`
    prepares them (`auto_now_add` included); no signals are sent."""
    objs = list(objs)
    if not objs:
        return objs
    pk = connection.ops.quote_name(cast(str, objs[0]._meta.pk.column))
    for start in range(0, len(objs), batch):
        chunk = objs[start:start + batch]
        insert, params = insert_sql(chunk)
        with connection.cursor() as cursor:
            cursor.execute(f"{insert} RETURNING {pk}", params)
            mark_saved(chunk, [r[0] for r in cursor.fetchall()])
    return objs


def _insert_head(meta, fields) -> str:
    """`INSERT INTO table (columns) VALUES ` (identifiers from the model; values are bound)."""
    quote = connection.ops.quote_name
    return f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "  # noqa: S608


# Field classes whose preparation leaves a value of the Python type named unchanged (Django's
# get_prep_value is int(), str() or bool() of it): such a value is sent as it is, which skips
# most of the cost of preparing a row. Exact classes only: a subclass may prepare otherwise.
_AS_IS: dict[type[models.Field], type] = {
    **dict.fromkeys([models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField,
                     models.BigIntegerField, models.SmallIntegerField, models.PositiveIntegerField,
                     models.PositiveSmallIntegerField, models.PositiveBigIntegerField], int),
    **dict.fromkeys([models.CharField, models.TextField, models.EmailField, models.SlugField], str),
    models.BooleanField: bool,
}


class _Aware:
    """`_kept_type` of a DateTimeField on Postgres: an aware datetime is sent as it is (Django
    would only check that it is aware: Postgres's `adapt_datetimefield_value` returns it)."""


class _Json:
    """`_kept_type` of a JSONField without an encoder of its own, on Postgres: a dict or list
    is sent as Django would send it (`Jsonb`), written by `omnichannel.jsonfast`."""


def _kept_type(field: models.Field, vendor: str) -> type | None:
    """The type of value `field` sends unchanged, if any (a foreign key: its target's)."""
    if type(field) is models.ForeignKey:
        field = field.target_field
    if type(field) is models.DateTimeField and vendor == "postgresql":
        return _Aware
    if type(field) is models.JSONField and vendor == "postgresql" and field.encoder is None:
        return _Json
    return _AS_IS.get(type(field))


# id(field) -> (that field, its plan): the entry keeps the field alive, so its id stays its own
# (a model class built at run time, as migrations build them, may be collected)
_PLANS: dict[tuple[int, str], tuple[models.Field, tuple[str | None, type | None]]] = {}
_PLAN_LISTS: dict[int, tuple[list, list]] = {}  # id(a list of `_fields`) -> (that list, its plans)


def _plan(field: models.Field, vendor: str) -> tuple[str | None, type | None]:
    """(attname when `pre_save` on an insert would only read the attribute, else None;
    the type of value the field sends unchanged)."""
    key = (id(field), vendor)
    known = _PLANS.get(key)
    if known is not None and known[0] is field:
        return known[1]
    pre_save = type(field).pre_save
    plain = pre_save is models.Field.pre_save or (
        pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save)
        and not field.auto_now and not field.auto_now_add)  # type: ignore[attr-defined]
    plan = (field.attname if plain else None, _kept_type(field, vendor))
    _PLANS[key] = (field, plan)
    return plan


def _prepared(objs: Sequence[Model], fields) -> list[Any]:
    """Each field's value of each instance, as `save()` prepares it (`auto_now_add` included)."""
    conn = connections[DEFAULT_DB_ALIAS]  # the proxy `connection` looks it up on every use
    known = _PLAN_LISTS.get(id(fields))
    plans = known[1] if known is not None and known[0] is fields else [_plan(f, vendor()) for f in fields]
    values: list[Any] = []
    append = values.append
    for obj in objs:
        for f, (attname, keep) in zip(fields, plans, strict=True):
            value = getattr(obj, attname) if attname else f.pre_save(obj, True)
            if value is None or type(value) is keep or (
                    keep is _Aware and type(value) is datetime and value.utcoffset() is not None):
                append(value)
            elif keep is _Json and type(value) in (dict, list):
                append(Jsonb(value, dumps=jsonfast.dumps))
            else:
                append(f.get_db_prep_save(value, conn))
    return values
