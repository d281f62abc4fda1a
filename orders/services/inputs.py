"""Typed inputs of the order services (the API's serializers build these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import phonenumbers


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal | None = None  # None: the SKU's catalogue price


@dataclass(frozen=True)
class AddressInput:
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class OrderInput:
    delivery_method: str
    lines: list[LineInput]
    email: str | None = None
    phone: str | None = None
    customer_name: str = ""
    external_id: str | None = None
    address: AddressInput | None = None
    pickup_location: str | None = None
    currency: str = "EUR"
    promise_option: str = ""
    promised_by: datetime | None = None


@dataclass(frozen=True)
class ChannelContext:
    """Who is placing the order and what the channel allows when stock is short."""

    channel_id: int
    allow_backorder: bool = False
    actor: str = ""
    extra: dict[str, str] = field(default_factory=dict)


# ISO 4217 codes of the currencies a price can be paid in today (list one, as of 2026): the
# funds codes (BOV, CLF, USN, ...), precious metals (XAU, ...), and testing and "no currency"
# codes (XTS, XXX) are left out, and so are codes withdrawn (HRK, SLL, ANG, BGN, ...).
CURRENCIES = frozenset((
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD", "BIF", "BMD",
    "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR",
    "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF",
    "XPF", "YER", "ZAR", "ZMW", "ZWG",
))

# ISO 3166-1 alpha-2 country codes. phonenumbers (a dependency, kept up to date) knows every
# region with a telephone numbering plan: that is every assigned code but seven uninhabited
# territories, plus two codes ISO only reserves (AC Ascension, TA Tristan da Cunha, both part
# of SH) and XK (Kosovo: user-assigned, but the code the EU, carriers and CLDR use).
COUNTRIES = frozenset((phonenumbers.SUPPORTED_REGIONS - {"AC", "TA"})
                      | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})
