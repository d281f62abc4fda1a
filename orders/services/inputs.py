"""Typed inputs of the order services (the API's serializers build these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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
