"""Times of day typed by people (a carrier service's cutoff, a wave's cutoff): one parser,
used by every admin form, floor screen and API field that takes one.

Accepted: "HH:MM" and "HH.MM" (15:30 and 15.30 are both half past three; 9:05 and 09:05
too) and "HH:MM:SS", from 00:00 to 23:59:59. Anything else is refused rather than guessed:
Django's own parser (`parse_time`, behind DRF's and a form's TimeField) reads "15.30" as
15:00:00.3 (fractional seconds), takes "1530" for 15:30 and "15" for 15:00, and the form
field takes "15:00:00.3" too, so a cutoff typed the way staff type it landed hours early.
The parser itself is `omnichannel.timeofday_text` (no Django: the carrier's configuration uses it).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.db import models
from rest_framework import serializers

from omnichannel.timeofday_text import FORMATS, TimeOfDayInvalid, parse_time_of_day

__all__ = ["FORMATS", "ADMIN_TIME_OF_DAY", "TimeOfDayFormField", "TimeOfDayInvalid", "TimeOfDaySerializerField",
           "parse_time_of_day"]


class TimeOfDayFormField(forms.TimeField):
    """A form's (or the admin's) time of day, read by `parse_time_of_day`."""

    def to_python(self, value: Any) -> time | None:
        if value in self.empty_values:
            return None
        if isinstance(value, time):
            return value
        try:
            return parse_time_of_day(str(value))
        except TimeOfDayInvalid as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class TimeOfDaySerializerField(serializers.TimeField):
    """An API's time of day, read by `parse_time_of_day` (a 400 on the field otherwise)."""

    def to_internal_value(self, value: Any) -> time:
        if isinstance(value, time):
            return value
        if not isinstance(value, str):
            raise serializers.ValidationError(f"Expected a time of day as text ({FORMATS}).", code="invalid")
        try:
            return parse_time_of_day(value)
        except TimeOfDayInvalid as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


# `formfield_overrides` for a ModelAdmin or inline whose model has a TimeField a person types
# (the admin keeps its clock widget; only the parsing changes).
ADMIN_TIME_OF_DAY: dict[type[models.Field], dict[str, Any]] = {models.TimeField: {"form_class": TimeOfDayFormField}}
