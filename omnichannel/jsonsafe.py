"""JSON a database can store. A JSON body may carry a NUL character (`\\u0000`) or a lone
UTF-16 surrogate (`\\ud800`) as escapes; Postgres text and jsonb hold neither, so such a
value would fail at the INSERT (a 500). Find it first, to answer 400 naming where it is,
and keep a storable copy of the payload for the archive."""

from __future__ import annotations

import re
from typing import Any

_BAD = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _reason(text: str) -> str:
    return "contains a NUL character" if "\x00" in text else "contains invalid Unicode (a lone surrogate)"


def unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, reason) of the first key or string that cannot be stored, else None.
    The path reads like the API's field names: `lines[0].sku`."""
    if isinstance(value, str):
        return (path or "body", _reason(value)) if _BAD.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _BAD.search(key):
                return (path or "body", f"has a key that {_reason(key)}")
            if (found := unstorable(item, name)) is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := unstorable(item, f"{path}[{index}]")) is not None:
                return found
    return None


def storable(value: Any) -> Any:
    """A copy with every NUL and lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _BAD.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value
