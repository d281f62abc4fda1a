"""Carrier adapters: one plain-Python interface (`Carrier`) behind every integration.

No Django imports anywhere under this package; the Django layer maps its models
onto the dataclasses re-exported here.
"""

from transport.carriers.base import (
    Address,
    Carrier,
    CarrierError,
    NotSupported,
    Parcel,
    PricingBasis,
    RateNotAvailable,
    RateQuote,
    RateRequest,
    ShipmentRequest,
    ShipmentResponse,
    TrackingEvent,
    TrackingStatus,
)

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
