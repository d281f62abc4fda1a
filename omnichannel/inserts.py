"""INSERT a row unless a unique constraint already holds one like it: one statement, no
savepoint.

Catching IntegrityError instead needs a savepoint around the INSERT (two more round trips),
since a failed statement aborts a Postgres transaction. `INSERT ... ON CONFLICT DO NOTHING
RETURNING` reports the same outcome without failing, on Postgres and on SQLite (3.35+).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Model


def insert_unless_conflict(obj: Model, conflict: Sequence[str] = ()) -> bool:
    """Insert `obj` (a new instance, its pk unset) and return True, with its pk set; or
    return False, writing nothing, when the row would break a unique constraint: the ones on
    the fields named in `conflict`, or any unique constraint when `conflict` is empty.
    Fields are prepared as `save()` prepares them (`auto_now_add` included); no signals are
    sent. Other errors (a foreign key, a check constraint) raise as usual."""
    meta = obj._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    target = f"({', '.join(quote(meta.get_field(name).column) for name in conflict)}) " if conflict else ""
    sql = (f"{_insert_head(meta, fields)}({', '.join(['%s'] * len(fields))}) "
           f"ON CONFLICT {target}DO NOTHING RETURNING {quote(meta.pk.column)}")
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
    quote = connection.ops.quote_name
    meta, child_meta = parent._meta, children[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    link_field = child_meta.get_field(link)
    child_fields = [f for f in child_meta.concrete_fields if not f.primary_key and f is not link_field]
    pk, child_pk = quote(meta.pk.column), quote(child_meta.pk.column)
    # Each value cast to its column's type: values in a SELECT are not typed by the INSERT's columns.
    row = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in child_fields) + ")"
    names = ", ".join(f"c{i}" for i in range(len(child_fields)))
    sql = (f"WITH p AS ({_insert_head(meta, fields)}({', '.join(['%s'] * len(fields))}) "  # noqa: S608 - identifiers
           f"ON CONFLICT DO NOTHING RETURNING {pk}), "
           f"c AS (INSERT INTO {quote(child_meta.db_table)} ({quote(link_field.column)}, "
           f"{', '.join(quote(f.column) for f in child_fields)}) SELECT p.{pk}, {names} FROM p, "
           f"(VALUES {', '.join([row] * len(children))}) AS v({names}) RETURNING {child_pk}) "
           f"SELECT p.{pk}, c.{child_pk} FROM p LEFT JOIN c ON TRUE")
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
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return _insert_head(meta, fields) + ", ".join([row] * len(objs)), _prepared(objs, fields)


def insert_all_together(groups: Sequence[Sequence[Model]]) -> None:
    """`insert_all` for the new instances of several models (a list per model) in one
    statement on Postgres, a data-modifying CTE per model; one INSERT per model elsewhere.
    Sets every pk. For a few rows each (no batching)."""
    groups = [list(objs) for objs in groups if objs]
    if connection.vendor != "postgresql" or len(groups) < 2:
        for objs in groups:
            insert_all(objs)
        return
    ctes, selects, params = [], [], []
    for index, objs in enumerate(groups):
        insert, values = insert_sql(objs)
        pk = connection.ops.quote_name(objs[0]._meta.pk.column)
        ctes.append(f"i{index} AS ({insert} RETURNING {pk})")
        selects.append(f"SELECT {index}, {pk} FROM i{index}")  # noqa: S608 - identifiers from the model
        params += values
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}", params)
        found: dict[int, list[Any]] = {index: [] for index in range(len(groups))}
        for index, pk in cursor.fetchall():
            found[index].append(pk)
    for index, objs in enumerate(groups):  # keys are drawn in row order within a statement
        mark_saved(objs, sorted(found[index]))


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
    keys = [meta.get_field(name) for name in conflict]
    key_columns = ", ".join(quote(f.column) for f in keys)
    insert, params = insert_sql(objs)
    sql = f"{insert} ON CONFLICT ({key_columns}) DO NOTHING RETURNING {quote(meta.pk.column)}, {key_columns}"
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
        obj._state.db = connection.alias


def insert_all(objs: Sequence[Model], *, batch: int = 500) -> list[Model]:
    """INSERT new instances of one model, `batch` rows per statement, and set their pks:
    `bulk_create` without its query compiler, which costs several times the statement on
    the small inserts of every order (omnichannel.rawsql). Fields are prepared as `save()`
    prepares them (`auto_now_add` included); no signals are sent."""
    objs = list(objs)
    if not objs:
        return objs
    pk = connection.ops.quote_name(objs[0]._meta.pk.column)
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


def _kept_type(field: models.Field) -> type | None:
    """The type of value `field` sends unchanged, if any (a foreign key: its target's)."""
    if type(field) is models.ForeignKey:
        field = field.target_field
    return _AS_IS.get(type(field))


def _prepared(objs: Sequence[Model], fields) -> list[Any]:
    """Each field's value of each instance, as `save()` prepares it (`auto_now_add` included)."""
    kept = [_kept_type(f) for f in fields]
    values = []
    for obj in objs:
        for f, keep in zip(fields, kept, strict=True):
            value = f.pre_save(obj, True)
            values.append(value if value is None or type(value) is keep else f.get_db_prep_save(value, connection))
    return values
