"""The built-in carrier's tracking webhook format, parsed and validated.

The body is JSON, either one event object or a batch::

    {"tracking_number": "LF00000000427",        # required, valid for the carrier
     "status": "out_for_delivery",              # required, a TrackingStatus value
     "occurred_at": "2025-06-10T08:15:00+02:00",# required, ISO 8601 WITH offset
     "location": "Amsterdam depot",             # optional string
     "description": "On the van"}               # optional string

    {"events": [<event>, <event>, ...]}         # non-empty list

Timestamps must carry an offset because a naive time is ambiguous across the
depot's and the server's timezones. Unknown keys are ignored so the sender can
add fields without breaking us. Any violation raises `CarrierError` with code
``invalid_webhook`` and a message naming the offending field, so the HTTP view
can answer 400 with something the sender can act on. Authenticating the sender
(signature, shared secret) is the HTTP layer's job and happens before this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from transport.carriers.base import CarrierError, TrackingEvent, TrackingStatus

__all__ = ["events_to_payload", "parse_webhook"]

_STATUSES = ", ".join(sorted(status.value for status in TrackingStatus))


def _invalid(path: str, problem: str) -> CarrierError:
    return CarrierError(f"invalid tracking webhook: {path}: {problem}", code="invalid_webhook")


def parse_webhook(payload: Any, is_valid_number: Callable[[str], bool]) -> list[TrackingEvent]:
    """Validate a webhook body; events come back ordered by `occurred_at` (stable)."""
    if not isinstance(payload, Mapping):
        raise _invalid("body", f"expected a JSON object, got {type(payload).__name__}")
    if "events" not in payload:
        return [_parse_event(payload, "body", is_valid_number)]
    items = payload["events"]
    if not isinstance(items, list) or not items:
        raise _invalid("events", "expected a non-empty list of event objects")
    events = [_parse_event(item, f"events[{i}]", is_valid_number) for i, item in enumerate(items)]
    return sorted(events, key=lambda event: event.occurred_at)


def _parse_event(item: Any, path: str, is_valid_number: Callable[[str], bool]) -> TrackingEvent:
    if not isinstance(item, Mapping):
        raise _invalid(path, f"expected an object, got {type(item).__name__}")
    return TrackingEvent(
        tracking_number=_tracking_number(item, path, is_valid_number),
        status=_status(item, path),
        occurred_at=_occurred_at(item, path),
        location=_optional_text(item, "location", path),
        description=_optional_text(item, "description", path),
        raw=dict(item),
    )


def _required_text(item: Mapping[str, Any], key: str, path: str) -> str:
    value = item.get(key)
    if value is None:
        raise _invalid(f"{path}.{key}", "is required")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{path}.{key}", f"expected a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(item: Mapping[str, Any], key: str, path: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{path}.{key}", f"expected a string, got {value!r}")
    return value.strip()


def _tracking_number(item: Mapping[str, Any], path: str, is_valid_number: Callable[[str], bool]) -> str:
    number = _required_text(item, "tracking_number", path)
    if not is_valid_number(number):
        raise _invalid(f"{path}.tracking_number", f"{number!r} is not a tracking number of this carrier")
    return number


def _status(item: Mapping[str, Any], path: str) -> TrackingStatus:
    value = _required_text(item, "status", path)
    try:
        return TrackingStatus(value)
    except ValueError:
        raise _invalid(f"{path}.status", f"{value!r} is not one of {_STATUSES}") from None


def _occurred_at(item: Mapping[str, Any], path: str) -> datetime:
    value = _required_text(item, "occurred_at", path)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(f"{path}.occurred_at", f"{value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid(f"{path}.occurred_at", f"{value!r} has no UTC offset")
    return moment


def events_to_payload(events: Iterable[TrackingEvent]) -> dict[str, Any]:
    """The inverse of `parse_webhook`: for simulators, fixtures and replaying events."""
    return {
        "events": [
            {
                "tracking_number": event.tracking_number,
                "status": event.status.value,
                "occurred_at": event.occurred_at.isoformat(),
                "location": event.location,
                "description": event.description,
            }
            for event in events
        ]
    }
