"""A per-process copy of a small, read-mostly table (locations, channels), for hot read paths.

The copy is reloaded after `ttl` seconds, and at once in this process when a watched model
is saved or deleted (Django signals; `m2m` relations too), and again when that change commits. Other processes see a change
within `ttl`. Callers that find an id missing from the copy call `refresh()` and look again,
so a row created a moment ago (even by `bulk_create`, which sends no signal) is never missed.
Only for data where a few seconds of staleness is harmless: never for stock quantities.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")
_EVERY: list[Any] = []  # every ProcessCache and KeyedCache, for clear_all()


def clear_all() -> None:
    """Forget every copy (tests call this between tests, whose rolled-back rows send no signal)."""
    for cache in _EVERY:
        cache.clear()


class ProcessCache(Generic[T]):
    def __init__(self, load: Callable[[], T], *, ttl: float = 5.0, models: Iterable[type[Model]] = (),
                 m2m: Iterable[Any] = ()) -> None:
        self._load, self._ttl = load, ttl
        self._value: T | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        _EVERY.append(self)
        for model in models:
            post_save.connect(self._on_change, sender=model, weak=False)
            post_delete.connect(self._on_change, sender=model, weak=False)
        for through in m2m:
            m2m_changed.connect(self._on_change, sender=through, weak=False)

    def _on_change(self, **_: Any) -> None:
        # Now, and again once the change commits: a reload in between (another request of this
        # process) would read the rows as they were before the change and keep them for `ttl`.
        self.clear()
        transaction.on_commit(self.clear)

    def clear(self) -> None:
        self._expires = 0.0

    def get(self) -> T:
        if self._value is None or time.monotonic() >= self._expires:
            return self.refresh()
        return self._value

    def refresh(self) -> T:
        with self._lock:
            value = self._load()
            self._value, self._expires = value, time.monotonic() + self._ttl
        return value


class KeyedCache(Generic[T]):
    """Per-process answers of a keyed lookup (a token's row, say), each kept `ttl` seconds,
    forgotten at once in this process when a watched model is saved or deleted (and again when
    that change commits, as `ProcessCache`). At most `size` keys: when full it starts again
    empty. Callers cache only what was found, so a key that does not exist always reads the
    database (a stream of made-up keys cannot fill it)."""

    def __init__(self, *, ttl: float = 5.0, size: int = 10_000, models: Iterable[type[Model]] = ()) -> None:
        self._ttl, self._size = ttl, size
        self._values: dict[Any, tuple[float, T]] = {}
        _EVERY.append(self)
        for model in models:
            post_save.connect(self._on_change, sender=model, weak=False)
            post_delete.connect(self._on_change, sender=model, weak=False)

    def _on_change(self, **_: Any) -> None:
        self.clear()
        transaction.on_commit(self.clear)

    def clear(self) -> None:
        self._values = {}

    def get(self, key: Any) -> T | None:
        found = self._values.get(key)
        if found is None or time.monotonic() >= found[0]:
            return None
        return found[1]

    def put(self, key: Any, value: T) -> None:
        values = self._values
        if len(values) >= self._size:
            values = self._values = {}
        values[key] = (time.monotonic() + self._ttl, value)
