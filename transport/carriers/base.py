"""The one interface every carrier integration implements.

Carriers are adapters in the spirit of Karrio's connectors: plain Python, typed
request/response dataclasses in, typed dataclasses out, no Django imports. The
Django layer maps its models onto these dataclasses, calls a `Carrier`, and
maps the answer back, so every integration can be tested offline and swapped
without touching the ORM.

Anything a carrier cannot do raises `NotSupported` (never a silent no-op), so
callers can branch on capability instead of on carrier identity.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "Address",
    "Carrier",
    "CarrierError",
    "NotSupported",
    "Parcel",
    "PricingBasis",
    "RateNotAvailable",
    "RateQuote",
    "RateRequest",
    "ShipmentRequest",
    "ShipmentResponse",
    "TrackingEvent",
    "TrackingStatus",
]


# --------------------------------------------------------------------------- errors


class CarrierError(Exception):
    """Base for every failure a carrier reports.

    `code` is a stable, machine-readable identifier (API responses and tests key
    on it); the message is for humans and may change wording freely.
    """

    default_code = "carrier_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class NotSupported(CarrierError):
    """The carrier has no such capability (e.g. no cancellation API)."""

    default_code = "not_supported"


class RateNotAvailable(CarrierError):
    """No price exists for this request: too heavy, too far, or no service fits.

    Distinct from a generic error so the checkout can hide the option instead of
    failing the whole rate call.
    """

    default_code = "rate_not_available"


# --------------------------------------------------------------------------- requests


def _as_tuple(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    """Freeze list arguments so the frozen dataclasses are really immutable."""
    return None if value is None else tuple(value)


@dataclass(frozen=True)
class Address:
    """A postal address; `lat`/`lng` (WGS84) let distance-priced carriers measure the distance
    (storefronts rarely send them: the built-in carrier then prices at its farthest zone)."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""
    lat: float | None = None
    lng: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lng is not None


@dataclass(frozen=True)
class Parcel:
    """One physical package. Weight is integer grams to keep tier maths exact."""

    weight_grams: int
    length_cm: Decimal | None = None
    width_cm: Decimal | None = None
    height_cm: Decimal | None = None

    def __post_init__(self) -> None:
        if isinstance(self.weight_grams, bool) or not isinstance(self.weight_grams, int):
            raise TypeError("Parcel.weight_grams must be an int (grams)")
        if self.weight_grams <= 0:
            raise ValueError("Parcel.weight_grams must be positive")


@dataclass(frozen=True)
class RateRequest:
    """Ask for prices.

    `service_codes` restricts the answer to those services (None = all).
    `ship_date` may be a `datetime` (compared with service cutoffs; naive means
    carrier-local time) or a plain `date` (treated as shipping before cutoff);
    None means "now" according to the carrier's clock.
    """

    origin: Address
    destination: Address
    parcels: tuple[Parcel, ...]
    service_codes: tuple[str, ...] | None = None
    ship_date: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parcels", _as_tuple(self.parcels))
        object.__setattr__(self, "service_codes", _as_tuple(self.service_codes))
        if not self.parcels:
            raise ValueError("RateRequest needs at least one parcel")


class PricingBasis(enum.StrEnum):
    """What a price was worked out from.

    `DISTANCE`: the measured distance between origin and destination.
    `FARTHEST_ZONE`: the destination had no coordinates, so the carrier charged the
    most a parcel of that weight can cost on the service (its farthest zone, within the
    service's range): never less than the measured distance would have cost.
    """

    DISTANCE = "distance"
    FARTHEST_ZONE = "farthest_zone"


@dataclass(frozen=True)
class RateQuote:
    """One priced service option. `distance_km` is None when it could not be measured
    (see `pricing_basis`)."""

    carrier: str
    service_code: str
    service_name: str
    amount: Decimal
    currency: str
    transit_days: int
    estimated_delivery: date
    pricing_basis: PricingBasis = PricingBasis.DISTANCE
    distance_km: Decimal | None = None


@dataclass(frozen=True)
class ShipmentRequest:
    """Book one shipment (one or more parcels) on one service.

    `reference` is the caller's identifier (typically the order number); it is
    printed on the label so the dock can match parcels to orders.
    """

    service_code: str
    origin: Address
    destination: Address
    parcels: tuple[Parcel, ...]
    reference: str = ""
    ship_date: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parcels", _as_tuple(self.parcels))
        if not self.parcels:
            raise ValueError("ShipmentRequest needs at least one parcel")


@dataclass(frozen=True)
class ShipmentResponse:
    """A booked shipment.

    `tracking_numbers[i]` belongs to `parcels[i]` of the request;
    `master_tracking_number` identifies the shipment as a whole (for the
    built-in carrier it is the first parcel's number, like FedEx MPS).
    `label_pdf` holds one page per parcel, in parcel order.
    """

    carrier: str
    service_code: str
    master_tracking_number: str
    tracking_numbers: tuple[str, ...]
    label_pdf: bytes
    cost: Decimal
    currency: str
    estimated_delivery: date | None = None
    label_media_type: str = "application/pdf"
    pricing_basis: PricingBasis = PricingBasis.DISTANCE
    distance_km: Decimal | None = None


class TrackingStatus(enum.StrEnum):
    """Normalised tracking states; carrier-specific statuses map onto these."""

    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class TrackingEvent:
    """One scan/status change. `occurred_at` is always timezone-aware."""

    tracking_number: str
    status: TrackingStatus
    occurred_at: datetime
    location: str = ""
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------- interface


class Carrier:
    """What the transport layer may ask of any carrier.

    Every operation has a default that raises `NotSupported` (hence a plain base
    class rather than an ABC with abstract methods), so an adapter only
    implements what its carrier offers and callers get a uniform, catchable
    answer for the rest.
    """

    code: str
    name: str

    def rate(self, req: RateRequest) -> list[RateQuote]:
        """Price the request on every (or every requested) service."""
        raise NotSupported(f"{self._label()} does not provide rates")

    def create_shipment(self, req: ShipmentRequest) -> ShipmentResponse:
        """Book the shipment and return tracking numbers and labels."""
        raise NotSupported(f"{self._label()} does not create shipments")

    def cancel_shipment(self, tracking_number: str) -> None:
        """Void a booked shipment (before pickup)."""
        raise NotSupported(f"{self._label()} does not cancel shipments")

    def parse_tracking_webhook(self, payload: dict[str, Any]) -> list[TrackingEvent]:
        """Turn a carrier's (already authenticated) webhook body into events."""
        raise NotSupported(f"{self._label()} does not send tracking webhooks")

    def _label(self) -> str:
        return f"carrier {getattr(self, 'code', type(self).__name__)!r}"
