"""The usual order body, validated without DRF's per-field machinery, or left to DRF.

Every order a channel sends passes `OrderIn` (about 20 fields in four nested serializers).
DRF spends most of that in its generic steps (empty values, validators, error collection,
the serializers' own state) around a few comparisons: 9% of a POST's instructions
(`bench/post_cost.py --callgrind`, 9.78 -> 8.90 M with this module). `validated(body)` makes
the same comparisons directly for the bodies nearly every order is, and answers None for
anything else, which then goes through `OrderIn` as before:

- It is built from `OrderIn`'s own fields (their limits, choices, defaults, validators) and
  calls the serializers' own `validate_<field>` and `validate` methods, so the business rules
  live in one place. A field of a kind it does not know, anywhere in `OrderIn`, switches it
  off: every body then goes to DRF (`ENABLED` is False; a test keeps it True).
- It only accepts: text as JSON strings (no numbers for text), whole numbers as JSON
  integers, coordinates as JSON numbers, no `promised_by` (a date goes to DRF), and values
  that pass every check. Whatever DRF would refuse, or might read otherwise, gets None: errors
  are always DRF's own, in its words.
- `tests/test_fast_input.py` checks, on generated bodies (hypothesis), that whenever it
  answers, `OrderIn` accepts the same body with the same validated data, types and Decimal
  exponents included; and that the bench's realistic orders all take it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from rest_framework import fields as drf
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from omnichannel.api import DateTimeField


class _Refused(Exception):  # noqa: N818 - "DRF's turn", not an error of the body
    """The body is not one this path decides: DRF validates it."""


class _Unsupported(Exception):
    """A field this module cannot compile: the fast path stays off."""


_SKIP = object()  # a field left out of the validated data (DRF's SkipField)
_CHECK = object()  # a value present and not null: the field's check decides it
_STANDARD = (MaxLengthValidator, MinLengthValidator, MaxValueValidator, MinValueValidator,
             ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)

Check = Callable[[Any], Any]


def _validators(field, made_here: tuple[type, ...] = ()) -> list[Callable[[Any], Any]]:
    """The field's validators, run as they are, but for those of the `made_here` kinds (the
    length, range and character checks a compiled check makes itself). One that needs its
    field is not known."""
    found = [v for v in field.validators if not isinstance(v, made_here)]
    if any(getattr(v, "requires_context", False) for v in found):
        raise _Unsupported(f"{field.field_name}: a validator that needs its field")
    return found


def _run(validators, value) -> None:
    for validator in validators:
        try:
            validator(value)
        except (DjangoValidationError, serializers.ValidationError) as exc:
            raise _Refused from exc


def _clean_text(value: str) -> bool:
    """No NUL and no lone surrogate (what DRF's two character validators refuse)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(field: drf.CharField) -> Check:
    if not field.trim_whitespace:
        raise _Unsupported(f"{field.field_name}: untrimmed text")
    allow_blank, low, high = field.allow_blank, field.min_length, field.max_length
    extra = _validators(field, _STANDARD)

    def check(value):
        if type(value) is not str:
            raise _Refused
        text = value.strip()
        if not text:  # DRF: blank, before any validator
            if not allow_blank:
                raise _Refused
            return ""
        if (high is not None and len(text) > high) or (low is not None and len(text) < low) \
                or not _clean_text(text):
            raise _Refused
        if extra:
            _run(extra, text)
        return text
    return check


def _choice(field: drf.ChoiceField) -> Check:
    allow_blank, values = field.allow_blank, dict(field.choice_strings_to_values)
    extra = _validators(field)

    def check(value):
        if type(value) is not str:
            raise _Refused
        if value == "" and allow_blank:
            return ""
        try:
            chosen = values[value]
        except KeyError:
            raise _Refused from None
        if extra:
            _run(extra, chosen)
        return chosen
    return check


def _integer(value) -> int:
    if type(value) is not int:
        raise _Refused
    return value


def _float(value) -> float:
    if type(value) is float:
        number = value
    elif type(value) is int:
        try:
            number = float(value)
        except OverflowError:
            raise _Refused from None
    else:
        raise _Refused
    if not math.isfinite(number):
        raise _Refused
    return number


def _number(field: drf.IntegerField | drf.FloatField, read: Callable[[Any], Any]) -> Check:
    """A whole number from a JSON integer, or a float from a JSON number, in the field's range."""
    low, high = field.min_value, field.max_value
    extra = _validators(field, _STANDARD)

    def check(value):
        number = read(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise _Refused
        if extra:
            _run(extra, number)
        return number
    return check


def _decimal(field: drf.DecimalField) -> Check:
    # The field's own to_internal_value (precision, rounding, PriceField's minus zero) and all
    # its validators: a price is one Decimal, and DRF's steps for it are few.
    to_internal, validators = field.to_internal_value, _validators(field)

    def check(value):
        if type(value) not in (str, int):  # a JSON float's text is not always what was typed
            raise _Refused
        try:
            number = to_internal(value)
        except (DjangoValidationError, serializers.ValidationError):
            raise _Refused from None
        _run(validators, number)
        return number
    return check


def _refuse_present(value) -> Any:
    """A field this path does not read (a date): only its absence or null is decided here."""
    raise _Refused


def _nested(serializer: serializers.Serializer) -> Check:
    if serializer.validators:
        raise _Unsupported(f"{serializer.field_name}: serializer-level validators")
    parts = []
    for name, field in serializer.fields.items():
        if field.read_only:
            if field.default is not empty:  # DRF adds it to what the validators see
                raise _Unsupported(f"{name}: a read-only field with a default")
            continue
        if field.source != name or field.source_attrs != [name]:
            raise _Unsupported(f"{name}: a field with another source")
        method = getattr(serializer, "validate_" + name, None)
        parts.append((name, _presence(field), _compile(field), method))
    own_validate = type(serializer).validate is not serializers.Serializer.validate
    validate = serializer.validate

    def check(value):
        if type(value) is not dict:
            raise _Refused
        out = {}
        for name, presence, field_check, method in parts:
            raw = value.get(name, empty)
            got = presence(raw)
            if got is _SKIP:
                continue
            result = field_check(raw) if got is _CHECK else got
            if method is not None:
                result = _call(method, result)
            out[name] = result
        if own_validate:
            out = _call(validate, out)
        return out
    return check


def _call(method, value):
    try:
        return method(value)
    except (DjangoValidationError, serializers.ValidationError):
        raise _Refused from None


def _many(listed: serializers.ListSerializer) -> Check:
    if listed.validators or type(listed).validate is not serializers.ListSerializer.validate:
        raise _Unsupported(f"{listed.field_name}: list-level validation")
    allow_empty, low, high = listed.allow_empty, listed.min_length, listed.max_length
    child = _nested(listed.child)

    def check(value):
        if type(value) is not list or (not allow_empty and not value) or (high is not None and len(value) > high) \
                or (low is not None and len(value) < low):
            raise _Refused
        return [child(item) for item in value]
    return check


def _presence(field) -> Callable[[Any], Any]:
    """DRF's validate_empty_values: a missing value is required, defaulted or skipped; a null
    is allowed or refused; anything else is for the field's check."""
    required, allow_null = field.required, field.allow_null
    default = field.default
    if default is not empty and callable(default):
        raise _Unsupported(f"{field.field_name}: a callable default")

    def presence(raw):
        if raw is empty:
            if required:
                raise _Refused
            return _SKIP if default is empty else default
        if raw is None:
            if not allow_null:
                raise _Refused
            return None
        return _CHECK
    return presence


def _compile(field) -> Check:
    kind = type(field)
    if isinstance(field, serializers.ListSerializer):
        return _many(field)
    if isinstance(field, serializers.Serializer) and not isinstance(field, serializers.ModelSerializer):
        return _nested(field)
    if kind in (drf.CharField, drf.EmailField):
        return _text(field)
    if kind is drf.ChoiceField:
        return _choice(field)
    if kind is drf.IntegerField:
        return _number(field, _integer)
    if kind is drf.FloatField:
        return _number(field, _float)
    if isinstance(field, drf.DecimalField):
        return _decimal(field)
    if kind is DateTimeField or kind is drf.DateTimeField:
        return _refuse_present
    raise _Unsupported(f"{field.field_name}: {kind.__name__} is not compiled")


def _build() -> Check | None:
    from orders.api.serializers import OrderIn

    try:
        return _nested(OrderIn())
    except _Unsupported:
        return None


_validated = _build()
ENABLED = _validated is not None


def validated(body: Any) -> dict | None:
    """`OrderIn(data=body).validated_data` for the usual body, or None: validate it with
    `OrderIn` (which then also words any error)."""
    if _validated is None:
        return None
    try:
        return _validated(body)
    except _Refused:
        return None
