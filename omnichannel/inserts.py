"""INSERT a row unless a unique constraint already holds one like it: one statement, no
savepoint.

Catching IntegrityError instead needs a savepoint around the INSERT (two more round trips),
since a failed statement aborts a Postgres transaction. `INSERT ... ON CONFLICT DO NOTHING
RETURNING` reports the same outcome without failing, on Postgres and on SQLite (3.35+).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
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
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    target = f"({', '.join(quote(meta.get_field(name).column) for name in conflict)}) " if conflict else ""
    # identifiers come from the model; every value is a bound parameter
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT {target}DO NOTHING RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
