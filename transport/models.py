from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Carrier(models.Model):
    class Kind(models.TextChoices):
        BUILTIN = "builtin", "Built-in rate card (offline)"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BUILTIN)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class CarrierService(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="services")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    transit_days = models.PositiveSmallIntegerField(default=1)
    cutoff_time = models.TimeField(help_text="Orders handed over after this local time leave the next day.")
    is_same_day = models.BooleanField(default=False)
    max_distance_km = models.FloatField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.carrier.name} {self.name}"

    def clean(self) -> None:
        """What the carrier adapter refuses to load (transport.carriers.builtin.config), refused here
        first so the admin names the field instead of the service silently dropping out of rate shopping."""
        errors = {}
        if self.is_same_day and self.transit_days:
            errors["transit_days"] = "A same-day service delivers the day it leaves: 0 transit days."
        if self.max_distance_km is not None and self.max_distance_km < 0:
            errors["max_distance_km"] = "The range cannot be negative."
        if errors:
            raise ValidationError(errors)


class RateCardEntry(models.Model):
    """Price of one parcel up to `max_weight_grams` going up to `max_km` (weight tier x distance zone)."""

    service = models.ForeignKey(CarrierService, on_delete=models.CASCADE, related_name="rates")
    max_weight_grams = models.PositiveIntegerField()
    max_km = models.FloatField()
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "max_weight_grams", "max_km"], name="one_rate_per_tier_zone"),
            models.CheckConstraint(condition=Q(price__gte=0), name="rate_price_not_negative"),
        ]
        ordering = ["service", "max_weight_grams", "max_km"]

    def __str__(self) -> str:
        return f"{self.service_id}: <= {self.max_weight_grams} g, <= {self.max_km} km: {self.price}"

    def clean(self) -> None:
        """A tier of 0 g or a negative zone makes the carrier adapter refuse the whole service."""
        errors = {}
        if self.max_weight_grams is not None and self.max_weight_grams <= 0:
            errors["max_weight_grams"] = "A weight tier must be at least 1 g."
        if self.max_km is not None and self.max_km < 0:
            errors["max_km"] = "A distance zone cannot be negative."
        if errors:
            raise ValidationError(errors)



class Shipment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked"
        IN_TRANSIT = "in_transit"
        OUT_FOR_DELIVERY = "out_for_delivery"
        DELIVERED = "delivered"
        EXCEPTION = "exception"
        CANCELLED = "cancelled"

    service = models.ForeignKey(CarrierService, on_delete=models.PROTECT, related_name="shipments")
    reference = models.CharField(max_length=64, db_index=True, help_text="Who it is for, e.g. the fulfillment.")
    tracking_number = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    weight_grams = models.PositiveIntegerField(default=0)
    parcel_count = models.PositiveSmallIntegerField(default=1)
    label_pdf = models.BinaryField(editable=False)
    origin = models.JSONField(default=dict)
    destination = models.JSONField(default=dict)
    estimated_delivery = models.DateField(null=True, blank=True)
    pricing_basis = models.CharField(
        max_length=16, choices=[("distance", "Distance"), ("farthest_zone", "Farthest zone (no coordinates)")],
        default="distance",
        help_text="What the cost was worked out from: the distance, or, for an address without coordinates, "
                  "the farthest zone of the rate card (the most it can cost).")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.tracking_number


class ShipmentParcel(models.Model):
    """One parcel of a shipment, with its own tracking number (the first is the master)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="parcels")
    sequence = models.PositiveSmallIntegerField()
    tracking_number = models.CharField(max_length=40, unique=True)
    weight_grams = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment", "sequence"]
        constraints = [models.UniqueConstraint(fields=["shipment", "sequence"], name="parcel_sequence_once")]

    def __str__(self) -> str:
        return self.tracking_number



class TrackingEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    status = models.CharField(max_length=20, choices=Shipment.Status.choices)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    external_id = models.CharField(
        max_length=255, blank=True,
        help_text="The carrier's id for this scan (`event_id`), else the `Idempotency-Key` it was sent with: "
                  "a scan sent again with it is this scan.")

    class Meta:
        ordering = ["occurred_at", "pk"]
        # One scan, one event (transport.services._scan_already_recorded): by its time, and by its id.
        constraints = [models.UniqueConstraint(fields=["shipment", "status", "occurred_at"],
                                               name="tracking_event_once"),
                       models.UniqueConstraint(fields=["shipment", "external_id"], condition=~Q(external_id=""),
                                               name="tracking_event_id_once")]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"
