"""`Idempotency-Key`: the first successful answer to a key is stored in the same
transaction as the change, and replayed for a retry with the same body; a different
body under the same key is a 409. Answers are kept `IDEMPOTENCY_KEY_TTL_HOURS` (72 h by
default), then forgotten (`idempotency_purge`, hourly)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from omnichannel import jsonfast, rawsql
from omnichannel.errors import Conflict
from omnichannel.instances import new
from omnichannel.jsonsafe import unstorable
from omnichannel.models import IdempotencyRecord


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


MAX_KEY = 255  # characters of an Idempotency-Key header


def key_problem(key: str) -> str | None:
    """Why an `Idempotency-Key` header cannot be stored (too long, a NUL or invalid Unicode), or None."""
    if len(key) > MAX_KEY:
        return f"is {len(key)} characters long; at most {MAX_KEY}"
    if unstorable(key):
        return "contains a NUL character or invalid Unicode"
    return None


def request_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


_UNREAD: Any = object()


def idempotency_lookup(scope: str, key: str, body_hash: str, *,
                       found: tuple[int, str] | None = _UNREAD) -> IdempotencyRecord | None:
    """The stored answer to this key, None if there is none; 409 if it answered another
    body. `found`: (id, request hash) of the record, or None, when already read."""
    if found is _UNREAD:
        # Written out (omnichannel.rawsql): every order POST asks, and nearly every answer is "no".
        sql = (f"SELECT {rawsql.column(IdempotencyRecord, 'id')}, {rawsql.column(IdempotencyRecord, 'request_hash')} "  # noqa: S608
               f"FROM {rawsql.table(IdempotencyRecord)} WHERE {rawsql.column(IdempotencyRecord, 'scope')} = %s "
               f"AND {rawsql.column(IdempotencyRecord, 'key')} = %s")
        rows = rawsql.fetch(sql, [scope, key])
        found = rows[0] if rows else None
    if found is None:
        return None
    record_id, stored_hash = found
    if stored_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request body.", field="Idempotency-Key")
    return IdempotencyRecord.objects.get(pk=record_id)


def idempotency_record(scope: str, key: str, body_hash: str, status: int, body: Any) -> IdempotencyRecord:
    """The record of an answer, unsaved: the caller writes it in the transaction of the
    change, so a concurrent twin fails on the unique constraint and rolls its whole change
    back."""
    return new(IdempotencyRecord, scope=scope, key=key, request_hash=body_hash, response_status=status,
                             response_body=jsonfast.round_trip(body))


PURGE_CHUNK = 5000


def idempotency_purge(*, older_than: timedelta, chunk: int = PURGE_CHUNK) -> int:
    """Forget the answers stored more than `older_than` ago, oldest first, `chunk` rows a
    statement. Ids grow with time, so the first record young enough to keep bounds the old
    ones: the read walks the primary key from the oldest and stops there, and the table needs
    no index on `created_at` (which every order's INSERT would pay for). Returns how many
    were deleted."""
    cutoff = timezone.now() - older_than
    keep_from = (IdempotencyRecord.objects.filter(created_at__gte=cutoff).order_by("pk")
                 .values_list("pk", flat=True).first())
    old = IdempotencyRecord.objects.all() if keep_from is None else IdempotencyRecord.objects.filter(pk__lt=keep_from)
    deleted = 0
    while True:
        last = old.order_by("pk").values_list("pk", flat=True)[chunk - 1:chunk].first()
        batch = old if last is None else old.filter(pk__lte=last)
        count = batch.delete()[0]  # nothing refers to a record: one DELETE
        deleted += count
        if last is None or not count:
            return deleted
