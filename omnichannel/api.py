"""The one DRF exception handler: domain errors and DRF errors become
`{"code", "detail", "field", "errors"?}` with the right HTTP status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import django_filters
from django import forms
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.fields import empty
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from omnichannel.errors import DomainError
from omnichannel.jsonsafe import storable


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or ""
            errors.extend(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            errors.extend({"field": prefix, "reason": str(d), "code": getattr(d, "code", "invalid")} for d in detail)
        else:
            for index, value in enumerate(detail):
                if value:
                    errors.extend(_flatten(value, f"{prefix}[{index}]"))
    else:
        errors.append({"field": prefix, "reason": str(detail), "code": getattr(detail, "code", "invalid")})
    return errors


def domain_error_response(exc: DomainError) -> Response:
    body: dict[str, Any] = {"code": exc.code, "detail": exc.detail, "field": exc.field}
    body.update(exc.extra)
    return Response(body, status=exc.status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """An error may quote the input back (`"\ud800" is not a valid choice`): a NUL or lone
    surrogate in it is replaced, or the JSON renderer could not encode the answer."""
    response = _error_response(exc, context)
    if response is not None:
        response.data = storable(response.data)
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": None, "reason": "Invalid input."}
        return Response(
            {"code": "invalid", "detail": f"{first['field']}: {first['reason']}" if first["field"] else first["reason"],
             "field": first["field"] or None, "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"code": exc.default_code if not isinstance(exc.detail, dict) else "error",
                         "detail": str(exc.detail), "field": None}
    return response


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` with a ceiling: a page is at most 500 rows (an unbounded `limit`
    reached the database as LIMIT 10^400, a 500)."""

    max_limit = 500


class SharedFields:
    """Mixin for serializers that use no context (no request-built URLs, no per-request
    validation state): their fields are built once per class and process and shared,
    instead of being built and deep-copied for every serializer and nested serializer of
    every request (DRF's way; for an order's detail that was a third of rendering it).
    Rendering and validation are DRF's own `to_representation` / `to_internal_value` over
    those fields; `fields` itself (the schema) is untouched."""

    _shared_fields: ClassVar[dict[str, list[Any]]]  # set on each class by `_shared`

    @classmethod
    def _shared(cls, which: str):
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            prototype: Any = cls()  # a serializer: the mixin comes before its Serializer base
            fields = list(prototype.fields.values())
            shared = {"readable": [f for f in fields if not f.write_only],
                      "writable": [f for f in fields if not f.read_only],
                      "read_only_defaults": [f for f in fields if f.read_only and f.default is not empty]}
            cls._shared_fields = shared  # a race builds it twice, harmlessly
        return shared[which]

    @property
    def _readable_fields(self):
        return self._shared("readable")

    @property
    def _writable_fields(self):
        return self._shared("writable")

    def _read_only_defaults(self):
        # DRF builds (deep-copies) every field to look for read-only ones with a default;
        # most input serializers have none, and then there is nothing to look for.
        return cast(Any, super())._read_only_defaults() if self._shared("read_only_defaults") else {}


def _storable_instant(value: datetime) -> bool:
    """An aware datetime the database can hold: it is stored in UTC, and a time at the
    calendar's edge ("0001-01-01T00:00" in a zone east of UTC) falls off it there."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


class DateTimeField(serializers.DateTimeField):
    """DRF's, but a time at the edge of the calendar that cannot be made aware in the current
    zone, or stored in UTC, is the field's "out of range" error (a 400), not an OverflowError
    (a 500)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        try:
            value = super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")
        if value.tzinfo is not None and not _storable_instant(value):
            self.fail("overflow")
        return value


class _IsoDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value: Any) -> datetime | None:
        found = super().to_python(value)
        if found is not None and found.tzinfo is not None and not _storable_instant(found):
            raise forms.ValidationError("Datetime value out of range.", code="overflow")
        return found


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's, refusing (a 400) a time the database cannot compare with: see `DateTimeField`."""

    field_class = _IsoDateTimeField
