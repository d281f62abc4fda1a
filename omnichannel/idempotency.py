"""`Idempotency-Key`: the first successful answer to a key is stored in the same
transaction as the change, and replayed for a retry with the same body; a different
body under the same key is a 409."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omnichannel.errors import Conflict
from omnichannel.models import IdempotencyRecord


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


def request_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_lookup(scope: str, key: str, body_hash: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is not None and record.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request body.", field="Idempotency-Key")
    return record


def idempotency_store(scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
    """Caller holds the transaction of the change; a concurrent twin fails here on the
    unique constraint and rolls its whole change back."""
    IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=body_hash, response_status=status,
                                     response_body=json.loads(json.dumps(body, default=str)))
