"""Times of day typed by people: the parser, without Django (the built-in carrier's plain
configuration reads its cutoffs with it too; omnichannel.timeofday adds the form, admin and
API fields around it).

Accepted: "HH:MM" and "HH.MM" (15:30 and 15.30 are both half past three; 9:05 and 09:05
too) and "HH:MM:SS", from 00:00 to 23:59:59. Anything else is refused rather than guessed."""

from __future__ import annotations

import re
from datetime import time

_TIME_OF_DAY = re.compile(r"(?P<hour>[0-9]{1,2})(?::(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?|\.(?P<dot>[0-9]{2}))")
FORMATS = "HH:MM, HH.MM or HH:MM:SS"


class TimeOfDayInvalid(ValueError):
    """`reason`: what is out of range ("the hour 25 is past 23"), or "" when the text is not
    in an accepted form at all."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def parse_time_of_day(text: str) -> time:
    """The time of day `text` names (surrounding blanks ignored); TimeOfDayInvalid otherwise."""
    value = text.strip()
    shown = value if len(value) <= 20 else value[:20] + "…"
    message = f"{shown!r} is not a time of day (00:00 to 23:59): type {FORMATS}, e.g. 15:30 or 15.30."
    match = _TIME_OF_DAY.fullmatch(value)
    if match is None:
        raise TimeOfDayInvalid(message)
    hour, second = int(match["hour"]), int(match["second"] or 0)
    minute = int(match["minute"] if match["minute"] is not None else match["dot"])
    for part, number, top in (("hour", hour, 23), ("minute", minute, 59), ("second", second, 59)):
        if number > top:
            raise TimeOfDayInvalid(message, reason=f"the {part} {number} is past {top}")
    return time(hour, minute, second)
