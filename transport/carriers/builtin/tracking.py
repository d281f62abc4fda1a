"""Tracking numbers for the built-in carrier: ``PREFIX + 10-digit serial + check digit``.

Example: prefix ``LF``, serial 42 -> ``LF00000000427`` (the trailing 7 is the check digit).

Why this shape:

* Uniqueness comes from the serial, not from luck. The mapping serial ->
  number is injective (fixed-width zero padding, out-of-range serials are
  refused rather than wrapped), so a database sequence or auto-increment key
  gives collision-free numbers by construction. Random serials are offered for
  demos/tests only: 10 digits collide by the birthday bound after ~10^5
  numbers, so a unique constraint + retry is needed if they are used at all.
* The prefix (2-6 letters) names the carrier, so numbers from carriers with
  different prefixes can never collide and a scanner can route them.
* The check digit uses the Damm algorithm (a weakly totally anti-symmetric
  quasigroup of order 10). Unlike the UPU S10 mod-11 digit -- which maps two
  residues onto "5" and so lets some single-digit typos through -- Damm
  detects *every* single-digit substitution and *every* adjacent transposition,
  the two typical errors when a customer types a number from a label, while
  staying one decimal digit that Code 128 packs densely.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "SERIAL_DIGITS",
    "TrackingNumberScheme",
    "damm_check_digit",
    "is_valid_tracking_number",
]

SERIAL_DIGITS = 10
MAX_SERIAL = 10**SERIAL_DIGITS - 1

# Damm's operation table (Damm 2004; the standard order-10 quasigroup with a zero
# diagonal): interim = TABLE[interim][digit]; a valid string ends at interim 0.
_DAMM_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

_NUMBER_RE = re.compile(rf"^([A-Z]{{2,6}})(\d{{{SERIAL_DIGITS}}})(\d)$")
_PREFIX_RE = re.compile(r"^[A-Z]{2,6}$")


def damm_check_digit(digits: str) -> int:
    """The Damm check digit of a string of ASCII digits."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"expected ASCII digits, got {digits!r}")
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][int(char)]
    return interim


def is_valid_tracking_number(number: str, prefix: str | None = None) -> bool:
    """Shape + check digit (+ the expected prefix, when given). Never raises."""
    match = _NUMBER_RE.match(number) if isinstance(number, str) else None
    if match is None or (prefix is not None and match.group(1) != prefix):
        return False
    return damm_check_digit(match.group(2) + match.group(3)) == 0


@dataclass(frozen=True)
class TrackingNumberScheme:
    """Generates and validates one carrier's tracking numbers."""

    prefix: str

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or not _PREFIX_RE.match(self.prefix):
            raise ValueError(f"tracking prefix must be 2-6 letters A-Z, got {self.prefix!r}")

    def number_for(self, serial: int) -> str:
        """The tracking number for a caller-allocated serial (e.g. a DB sequence value)."""
        if isinstance(serial, bool) or not isinstance(serial, int):
            raise TypeError(f"serial must be an int, got {serial!r}")
        if not 0 <= serial <= MAX_SERIAL:
            raise ValueError(f"serial must be within 0..{MAX_SERIAL}, got {serial}")
        body = f"{serial:0{SERIAL_DIGITS}d}"
        return f"{self.prefix}{body}{damm_check_digit(body)}"

    def random_number(self, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
        """A number from a random serial. Needs a uniqueness check + retry (see module doc)."""
        return self.number_for(randbelow(MAX_SERIAL + 1))

    def is_valid(self, number: str) -> bool:
        return is_valid_tracking_number(number, self.prefix)

    def serial_of(self, number: str) -> int:
        """Inverse of `number_for`; ValueError for anything this scheme did not issue."""
        if not self.is_valid(number):
            raise ValueError(f"{number!r} is not a valid {self.prefix} tracking number")
        return int(number[len(self.prefix) : -1])
