"""Shapes of the orders API. Input serializers validate shape only; services write."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from omnichannel.api import DateTimeField, SharedFields
from orders import events as order_events
from orders.models import DeliveryMethod, Fulfillment, Order, OrderEvent, OrderLine
from orders.services import AddressInput, LineInput, OrderInput
from orders.services.inputs import COUNTRIES, CURRENCIES
from orders.services.placement import MAX_LINES
from transport.selectors import SHIPMENT_STATUSES


class PriceField(serializers.DecimalField):
    """An amount of money at least 0 (a minus zero is 0). DRF's own schema of a decimal allows
    a leading '-' whatever its `min_value`: see `_PriceFieldSchema`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal(0), **kwargs)

    def to_internal_value(self, data) -> Decimal:
        value = super().to_internal_value(data)
        return value.copy_abs() if value.is_zero() else value


class _PriceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PriceField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("pattern", "").startswith("^-?"):
            schema["pattern"] = "^" + schema["pattern"].removeprefix("^-?")
        return schema


class BoundedList(serializers.ListSerializer):
    """A `many=True` list whose bounds (`allow_empty`, `min_length`, `max_length`) the OpenAPI
    schema shows as minItems/maxItems (drf-spectacular leaves them out for a nested list)."""


class _BoundedListSchema(OpenApiSerializerFieldExtension):
    target_class = BoundedList

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        least = max(self.target.min_length or 0, 0 if self.target.allow_empty else 1)
        if least:
            schema["minItems"] = least
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        return schema


class LineIn(SharedFields, serializers.Serializer):
    """One line of an order: a SKU, how many, and at what price."""

    sku = serializers.CharField(max_length=64, help_text="SKU code or barcode (GTIN/EAN).")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    unit_price = PriceField(
        required=False, allow_null=True, default=None,
        help_text="The price the customer pays for one unit, at least 0. Omitted or null: the SKU's catalogue "
                  "price.")

    class Meta:
        list_serializer_class = BoundedList


class AddressIn(SharedFields, serializers.Serializer):
    """Where a shipped (`ship`, `same_day`) order goes."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, default="NL",
                                    help_text="ISO 3166-1 alpha-2 code, any case; blank or omitted: NL.")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)

    def validate_country(self, value: str) -> str:
        """ISO 3166-1 alpha-2, stored upper case ("nl" -> "NL"); blank means the default, NL."""
        code = value.strip().upper() or "NL"
        if code not in COUNTRIES:
            raise serializers.ValidationError("Give the country as an ISO 3166-1 alpha-2 code, such as NL.")
        return code

    def validate(self, attrs):
        """A coordinate is a latitude and a longitude: half of one places the address nowhere."""
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            missing = "longitude" if attrs.get("longitude") is None else "latitude"
            raise serializers.ValidationError({missing: "Give both latitude and longitude, or neither."})
        return attrs


class CustomerIn(SharedFields, serializers.Serializer):
    """How to reach the buyer about this order: an email or a phone, at least one."""

    # 254: what the column holds (Django's validator lets 320 characters through).
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True, default=None)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, allow_null=True, default=None)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError({"email": "Give the customer's email or phone."})
        return attrs


class OrderIn(SharedFields, serializers.Serializer):
    """An order as a channel places it. Its total, the sum of unit price x quantity over the
    lines, is at most 9999999999.99."""

    external_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True,
                                        default=None, help_text="The channel's own order id; unique per channel.")
    delivery_method = serializers.ChoiceField(choices=DeliveryMethod.choices, default=DeliveryMethod.SHIP)
    customer = CustomerIn(help_text="The buyer's contact for this order: give an email or a phone (at least one "
                                    "is required), and a name if known. The order shows these and no other.")
    address = AddressIn(required=False, allow_null=True, default=None,
                        help_text="Required for `ship` and `same_day`; not used for `pickup`.")
    pickup_location = serializers.CharField(
        max_length=32, required=False, allow_null=True, default=None,
        help_text="Code of the location where the customer collects the order: required for `pickup`, refused "
                  "for any other delivery method.")
    currency = serializers.CharField(max_length=3, required=False, default="EUR",
                                     help_text="ISO 4217 code of a circulating currency (EUR, USD, ...), any case.")
    promise_option = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                           help_text="The option id from /promise/ the shopper chose.")
    promised_by = DateTimeField(required=False, allow_null=True, default=None,
                                            help_text="The latest date promised (the option's `latest`).")
    lines = LineIn(many=True, allow_empty=False, max_length=MAX_LINES)

    def validate_currency(self, value: str) -> str:
        """Stored upper case: "eur" is EUR (Stripe, for one, sends codes in lower case)."""
        code = value.strip().upper()
        if code not in CURRENCIES:
            raise serializers.ValidationError("Give the currency as an ISO 4217 code, such as EUR.")
        return code

    def to_input(self) -> OrderInput:
        return order_input(self.validated_data)


def order_input(data: dict) -> OrderInput:
    """The service's input from `OrderIn`'s validated data (or `fast_input.validated`'s)."""
    customer = data["customer"]
    address = AddressInput(**data["address"]) if data.get("address") else None
    return OrderInput(
        delivery_method=data["delivery_method"], email=customer.get("email"), phone=customer.get("phone"),
        customer_name=customer.get("name", ""), external_id=data.get("external_id") or None, address=address,
        pickup_location=data.get("pickup_location"), currency=data["currency"],
        promise_option=data["promise_option"], promised_by=data["promised_by"],
        lines=[LineInput(line["sku"], line["quantity"], line["unit_price"]) for line in data["lines"]])


class LineOut(SharedFields, serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")

    class Meta:
        model = OrderLine
        fields = ["line_number", "sku", "name", "quantity", "backordered_quantity", "unit_price"]


class ShipmentOut(SharedFields, serializers.Serializer):
    tracking_number = serializers.CharField()
    carrier = serializers.CharField(source="service.carrier.name")
    service = serializers.CharField(source="service.code")
    status = serializers.ChoiceField(choices=SHIPMENT_STATUSES)
    cost = serializers.DecimalField(max_digits=10, decimal_places=2)
    pricing_basis = serializers.CharField(
        help_text="How the cost was priced: `distance` (the address's coordinates), or `farthest_zone` when the "
                  "address had none (the rate card's farthest zone for each parcel: docs/adr/0006).")
    estimated_delivery = serializers.DateField()
    label_url = serializers.SerializerMethodField()

    def get_label_url(self, shipment) -> str:
        return reverse("shipment-label", kwargs={"tracking_number": shipment.tracking_number})


# Shapes of the hand-built parts of the answers, for the OpenAPI schema only (clients generate
# types from it); the answers themselves are built by the methods below and by order_out_fresh.
class FulfillmentLineOut(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    line_number = serializers.IntegerField(help_text="The order line these units belong to.")


class ContactOut(serializers.Serializer):
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_null=True, help_text="E.164, e.g. +31612345678.")
    name = serializers.CharField(allow_blank=True)


class AddressOut(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True, help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class FulfillmentOut(SharedFields, serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    location_name = serializers.CharField(source="location.name")
    shipment = ShipmentOut(allow_null=True)
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Fulfillment
        fields = ["id", "number", "status", "location", "location_name", "lines", "shipment", "rejection_reason",
                  "created_at", "updated_at"]

    @extend_schema_field(FulfillmentLineOut(many=True))
    def get_lines(self, fulfillment) -> list[dict]:
        return [{"sku": a.order_line.sku.code, "quantity": a.quantity, "line_number": a.order_line.line_number}
                for a in fulfillment.allocations.all() if a.is_active]


class FulfillmentDetailOut(FulfillmentOut):
    order = serializers.CharField(source="order.number")
    delivery_method = serializers.CharField(source="order.delivery_method")

    class Meta(FulfillmentOut.Meta):
        fields = [*FulfillmentOut.Meta.fields, "order", "delivery_method"]


class EventOut(SharedFields, serializers.ModelSerializer):
    """A timeline entry. Read for a location's staff (`orders.selectors.floor_timeline`), an
    entry marked `redacted` (an order-level entry that may say where else the order went)
    shows what happened and when, without its message and actor, and one marked
    `actor_elsewhere` (done by another location's staff) without its actor. Read for a channel
    (`seen_by_channel`), staff are named by role only and a rejection's staff note is left out."""

    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = OrderEvent
        fields = ["type", "status_from", "status_to", "message", "actor", "at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if getattr(instance, "redacted", False):
            data["message"] = data["actor"] = ""
        elif getattr(instance, "actor_elsewhere", False):
            data["actor"] = ""
        elif getattr(instance, "seen_by_channel", False):
            data["actor"] = for_channel_actor(data["actor"])
            if data["type"] in NOTES_KEPT_FROM_CHANNELS:
                data["message"] = ""
        return data


# A sales channel (a storefront, a marketplace) sees its orders' timelines with the retailer's
# staff named by role only ("picker", not "picker:jan"), and without the notes staff type on a
# rejection (internal); channel, router and system actors as they are.
STAFF_ROLES = ("ops", "picker", "driver", "user")
NOTES_KEPT_FROM_CHANNELS = (order_events.FULFILLMENT_REJECTED,)


def for_channel_actor(actor: str) -> str:
    role, _, who = actor.partition(":")
    return role if who and role in STAFF_ROLES else actor


# An order's `at_risk_reason` as a location's staff see it: the reason itself can name the
# other locations that cannot keep the promise (`orders.services.routing._flag_promise_risk`).
AT_RISK_FOR_A_LOCATION = "The promise may not be kept"


def contact_out(order: Order) -> dict[str, str | None]:
    """The contact the order was placed with; never the unified customer record, which may
    hold what other channels gave (`orders.customers`)."""
    return {"email": order.contact_email or None, "phone": order.contact_phone or None, "name": order.contact_name}


class OrderOut(SharedFields, serializers.ModelSerializer):
    """An order, as its channel (or ops, or a location's staff) sees it."""

    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField(
        help_text="The contact this order was placed with: email (lower case), phone (E.164) and name, null or "
                  "empty where the order gave none.")
    address = serializers.SerializerMethodField()
    pickup_location = serializers.CharField(source="pickup_location.code", allow_null=True, default=None)
    lines = LineOut(many=True)
    fulfillments = FulfillmentOut(many=True)
    timeline = EventOut(many=True, source="events")

    class Meta:
        model = Order
        fields = ["number", "external_id", "channel", "status", "delivery_method", "customer", "address",
                  "pickup_location", "currency", "total_amount", "promise_option", "promised_by", "at_risk_reason",
                  "lines", "fulfillments", "timeline", "placed_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if getattr(instance, "seen_from_location", False) and data["at_risk_reason"]:
            data["at_risk_reason"] = AT_RISK_FOR_A_LOCATION
        return data

    @extend_schema_field(ContactOut)
    def get_customer(self, order) -> dict:
        return contact_out(order)

    @extend_schema_field(AddressOut(allow_null=True, help_text="Where it ships; null for a pickup order."))
    def get_address(self, order) -> dict | None:
        if order.delivery_method == DeliveryMethod.PICKUP:
            return None
        return {"name": order.ship_name, "line1": order.ship_line1, "line2": order.ship_line2,
                "city": order.ship_city, "postal_code": order.ship_postal_code, "country": order.ship_country,
                "latitude": order.ship_latitude, "longitude": order.ship_longitude}


@functools.cache
def _leaf(serializer: type[serializers.Serializer], name: str) -> serializers.Field:
    return next(f for f in serializer._shared("readable") if f.field_name == name)  # type: ignore[attr-defined]


def order_out_fresh(order: Order) -> dict[str, Any]:
    """`OrderOut(order).data` for an order `order_place` has just made, built by hand: what it
    reads is in memory (its channel, pickup location, lines with their SKUs, the
    timeline; no fulfillment yet), and every order POST answers with it. DRF's walk over the
    fields of three serializers was ~5% of a POST. Dates and amounts are formatted by
    OrderOut's own fields; tests/test_order_out_fresh.py compares both on every shape. Only a
    channel's POST renders it, so nothing here is redacted for a location's staff (a fresh
    order's timeline is its placing and confirmation by the channel, whole for them too)."""
    fresh = order._prefetched_objects_cache  # type: ignore[attr-defined]
    if fresh["fulfillments"]:
        return OrderOut(order).data
    money, when = _leaf(OrderOut, "total_amount"), _leaf(OrderOut, "placed_at")
    price, at = _leaf(LineOut, "unit_price"), _leaf(EventOut, "at")
    pickup = order.pickup_location
    address = None if order.delivery_method == DeliveryMethod.PICKUP else {
        "name": order.ship_name, "line1": order.ship_line1, "line2": order.ship_line2, "city": order.ship_city,
        "postal_code": order.ship_postal_code, "country": order.ship_country, "latitude": order.ship_latitude,
        "longitude": order.ship_longitude}
    return {
        "number": str(order.number), "external_id": None if order.external_id is None else str(order.external_id),
        "channel": str(order.channel.code), "status": str(order.status), "delivery_method": str(order.delivery_method),
        "customer": contact_out(order), "address": address,
        "pickup_location": None if pickup is None else str(pickup.code), "currency": str(order.currency),
        "total_amount": money.to_representation(order.total_amount), "promise_option": str(order.promise_option),
        "promised_by": None if order.promised_by is None else when.to_representation(order.promised_by),
        "at_risk_reason": str(order.at_risk_reason),
        "lines": [{"line_number": int(line.line_number), "sku": str(line.sku.code), "name": str(line.sku.name),
                   "quantity": int(line.quantity), "backordered_quantity": int(line.backordered_quantity),
                   "unit_price": price.to_representation(line.unit_price)} for line in fresh["lines"]],
        "fulfillments": [],
        "timeline": [{"type": str(e.type), "status_from": str(e.status_from), "status_to": str(e.status_to),
                      "message": str(e.message), "actor": str(e.actor), "at": at.to_representation(e.created_at)}
                     for e in fresh["events"]],
        "placed_at": when.to_representation(order.placed_at),
    }


class OrderSummaryOut(SharedFields, serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")

    class Meta:
        model = Order
        fields = ["number", "external_id", "channel", "status", "delivery_method", "total_amount", "placed_at"]


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RejectIn(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["not_in_stock", "damaged", "capacity", "other"])
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    counts = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=1_000_000), required=False,
                                   default=dict,
                                   help_text="not_in_stock: units actually on the shelf per SKU code.")


class PackageIn(serializers.Serializer):
    weight_grams = serializers.IntegerField(min_value=1, max_value=1_000_000)
    length_cm = serializers.IntegerField(min_value=1, max_value=500, required=False, allow_null=True, default=None)
    width_cm = serializers.IntegerField(min_value=1, max_value=500, required=False, allow_null=True, default=None)
    height_cm = serializers.IntegerField(min_value=1, max_value=500, required=False, allow_null=True, default=None)


class PackIn(serializers.Serializer):
    packages = PackageIn(many=True, allow_empty=False, max_length=50)


class ShipIn(serializers.Serializer):
    service_code = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)


class CollectIn(serializers.Serializer):
    code = serializers.CharField(max_length=12)
