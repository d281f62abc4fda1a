"""JSON written with orjson where the result is the same as the standard library's.

An order POST stores three JSON documents of some size (the payload's archive, the stored
answer to its Idempotency-Key, the timeline's payloads) and the standard library's encoder
spent ~0.1 ms of its CPU on them (bench/post_cost.py); orjson writes the same in a fifth of
that. Where orjson would write something the standard library does not (it refuses integers
beyond 64 bits; it writes datetimes and dataclasses the standard library refuses, passed
through here so that they raise as before), the standard library's own encoder is used, so
the outcome, a document or a TypeError, does not change. What differs is the text's spacing,
which jsonb does not keep, and a float that is not a number (NaN, infinity): orjson writes
null where the standard library writes NaN, which Postgres refuses. No input carries one
(DRF's JSON parser refuses them) and no code here makes one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(obj: Any) -> bytes | str:
    """`json.dumps(obj)`, as bytes where orjson can write it."""
    try:
        return orjson.dumps(obj, option=_OPTIONS)
    except TypeError:
        return json.dumps(obj)


def round_trip(obj: Any, default: Callable[[Any], Any] = str) -> Any:
    """`json.loads(json.dumps(obj, default=default))`: the value as it reads back once stored."""
    try:
        return orjson.loads(orjson.dumps(obj, default=default, option=_OPTIONS))
    except (TypeError, orjson.JSONDecodeError):
        return json.loads(json.dumps(obj, default=default))
