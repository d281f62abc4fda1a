"""The one DRF exception handler: domain errors and DRF errors become
`{"code", "detail", "field", "errors"?}` with the right HTTP status."""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.fields import empty
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from omnichannel.errors import DomainError, ValidationFailed
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


def error_json(http_status: int, code: str, detail: str, field: str | None = None) -> JsonResponse:
    """The API's error body, `{"code", "detail", "field"}`, outside DRF (Django's error handlers
    and middleware) where no exception handler shapes it."""
    return JsonResponse({"code": code, "detail": detail, "field": field}, status=http_status)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def body_too_large_detail() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return f"The request body is larger than {limit} bytes ({limit / 2**20:g} MB), the most the API takes."


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
    elif isinstance(exc, RequestDataTooBig):  # Django's, raised reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge(body_too_large_detail())
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):  # a form (the CSV import's multipart)
        exc = exceptions.ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"code": exc.default_code if not isinstance(exc.detail, dict) else "error",
                         "detail": str(exc.detail), "field": None}
    return response


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` with a ceiling: a page is at most 500 rows (an unbounded `limit`
    reached the database as LIMIT 10^400, a 500). A value that is not a whole number in
    range is a 400 naming the parameter; DRF's own pagination quietly used its default
    instead (`?limit=-1` or `?offset=abc` gave the first page as if asked for). A limit above
    the ceiling gives the ceiling's rows, as documented."""

    max_limit = 500

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw:  # given and not empty (empty: the default, as if not given)
            _whole(raw, self.limit_query_param, low=1, high=None)  # above max_limit: max_limit rows
        return super().get_limit(request)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw:
            _whole(raw, self.offset_query_param, low=0, high=None)
        return super().get_offset(request)


def _whole(raw: str, name: str, *, low: int, high: int | None) -> None:
    """A paging parameter must be a whole number from `low` (to `high`, when given)."""
    text = raw.strip()
    bound = f"from {low} to {high}" if high is not None else f"from {low}"
    if not (text.isascii() and text.isdigit()) or int(text) < low or (high is not None and int(text) > high):
        raise ValidationFailed(f"{name} must be a whole number {bound}, not {raw[:20]!r}.", field=name)


# Mixin for serializers that use no context (no request-built URLs, no per-request
# validation state): their fields are built once per class and process and shared,
# instead of being built and deep-copied for every serializer and nested serializer of
# every request (DRF's way; for an order's detail that was a third of rendering it).
# Rendering and validation are DRF's own `to_representation` / `to_internal_value` over
# those fields; `fields` itself (the schema) is untouched.
# (A comment, not a docstring: drf-spectacular describes a serializer without a docstring of
# its own by the first one up its bases, and published this on every schema component using it.)
class SharedFields:
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


# The instants the API takes as input (a promised date, a carrier's scan), from
# EARLIEST_DATETIME to LATEST_DATETIME_AHEAD after now. No order, promise or scan of this
# platform is from before 2000, and none is planned more than five years out (pre-orders and
# seasonal promises are months ahead): a time outside is a typing or clock slip ("0968-05-02",
# "1900-01-01", a year of 9999) and is refused on the field. Before 1900 or so the time zone
# rules are local mean time, and an Amsterdam time of 1900 rendered as "+00:19:32", which is
# no RFC 3339 offset.
EARLIEST_DATETIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_YEARS_AHEAD = 5
LATEST_DATETIME_AHEAD = timedelta(days=round(365.25 * LATEST_YEARS_AHEAD))


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DateTimeField(serializers.DateTimeField):
    """DRF's, refusing as input (a 400 on the field) a time outside EARLIEST_DATETIME and
    LATEST_DATETIME_AHEAD from now, and a time at the edge of the calendar that cannot be made
    aware in the current zone, or stored in UTC (an OverflowError, a 500, before)."""

    default_error_messages = {
        "too_early": "Date-time is before {earliest}, the earliest accepted.",
        "too_late": (f"Date-time is after {{latest}}: more than {LATEST_YEARS_AHEAD} years from now, "
                     "the latest accepted."),
    }

    def to_internal_value(self, value: Any) -> datetime:
        parsed: datetime = super().to_internal_value(value)
        instant = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        if instant < EARLIEST_DATETIME:
            raise self._out_of_bounds(too_early=True)
        if instant > timezone.now() + LATEST_DATETIME_AHEAD:
            raise self._out_of_bounds(too_early=False)
        return parsed

    def enforce_timezone(self, value: datetime) -> datetime:
        """Also used to render: the bounds are in `to_internal_value`, so a stored time renders.
        Only a time in the first or last year of the calendar can fall off it here (DRF's
        "overflow", or an OverflowError): it is refused as too early or too late."""
        if value.year in (MINYEAR, MAXYEAR):
            raise self._out_of_bounds(too_early=value.year == MINYEAR)
        try:
            value = super().enforce_timezone(value)
        except OverflowError:
            raise self._out_of_bounds(too_early=value.year < EARLIEST_DATETIME.year) from None
        if value.tzinfo is not None and not _storable_instant(value):
            raise self._out_of_bounds(too_early=value.year < EARLIEST_DATETIME.year)
        return value

    def _out_of_bounds(self, *, too_early: bool) -> serializers.ValidationError:
        """The field's error (as `self.fail` would raise it), naming the bound."""
        if too_early:
            message = self.error_messages["too_early"].format(earliest=_rfc3339(EARLIEST_DATETIME))
        else:
            latest = timezone.now() + LATEST_DATETIME_AHEAD
            message = self.error_messages["too_late"].format(latest=_rfc3339(latest))
        return serializers.ValidationError(message, code="too_early" if too_early else "too_late")


class _IsoDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value: Any) -> datetime | None:
        found = super().to_python(value)
        if found is not None and found.tzinfo is not None and not _storable_instant(found):
            raise forms.ValidationError("Datetime value out of range.", code="overflow")
        return found


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's, refusing (a 400) a time the database cannot compare with: see `DateTimeField`.
    Unlike that field, it takes any time before 2000 or far ahead: a bound of a search is echoed
    nowhere, and "placed_after=1970-01-01T00:00:00Z" is a common way to say "from the start"."""

    field_class = _IsoDateTimeField
