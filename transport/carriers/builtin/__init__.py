"""The built-in offline rate-card carrier (see `carrier.BuiltinCarrier`).

Module map: `config` (plain-data configuration), `rating` (rate-card rules),
`schedule` (cutoff/business-day rules), `tracking` (tracking numbers),
`label` (4x6 PDF labels), `webhook` (tracking webhook format).
"""

from transport.carriers.builtin.carrier import BuiltinCarrier
from transport.carriers.builtin.config import (
    BuiltinCarrierConfig,
    InvalidConfiguration,
    RateCardEntry,
    ServiceConfig,
)
from transport.carriers.builtin.label import LABEL_SIZE, LabelData, LabelParcel, render_label_pdf
from transport.carriers.builtin.rating import distance_km, parcel_price, service_price
from transport.carriers.builtin.schedule import add_business_days, dispatch_date, estimate_delivery
from transport.carriers.builtin.tracking import (
    SERIAL_DIGITS,
    TrackingNumberScheme,
    damm_check_digit,
    is_valid_tracking_number,
)
from transport.carriers.builtin.webhook import events_to_payload, parse_webhook

__all__ = [
    "LABEL_SIZE",
    "SERIAL_DIGITS",
    "BuiltinCarrier",
    "BuiltinCarrierConfig",
    "InvalidConfiguration",
    "LabelData",
    "LabelParcel",
    "RateCardEntry",
    "ServiceConfig",
    "TrackingNumberScheme",
    "add_business_days",
    "damm_check_digit",
    "dispatch_date",
    "distance_km",
    "estimate_delivery",
    "events_to_payload",
    "is_valid_tracking_number",
    "parcel_price",
    "parse_webhook",
    "render_label_pdf",
    "service_price",
]
