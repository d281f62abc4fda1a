from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

# Units that can be promised (the guard of every conditional UPDATE that takes stock).
# May be negative in the row (a count or a safety stock above what is left); reports clamp to 0.
AVAILABLE_UNITS = F("on_hand") - F("reserved") - F("safety_stock") - F("damaged") - F("quality_control")
# Units physically there but already spoken for or not sellable (the CheckConstraint keeps it <= on_hand).
HELD_UNITS = F("reserved") + F("damaged") + F("quality_control")


class Product(models.Model):
    """A style (e.g. a shoe model); its SKUs are the sellable variants."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=32, unique=True, null=True, blank=True, help_text="GTIN/EAN")
    name = models.CharField(max_length=250)
    attributes = models.JSONField(default=dict, blank=True, help_text='Variant attributes, e.g. {"size": "42"}')
    weight_grams = models.PositiveIntegerField(default=500)
    length_mm = models.PositiveIntegerField(default=300)
    width_mm = models.PositiveIntegerField(default=200)
    height_mm = models.PositiveIntegerField(default=100)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    image_url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "SKU"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"
        DARK_STORE = "dark_store", "Dark store"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    address_line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="NL")
    latitude = models.FloatField()
    longitude = models.FloatField()
    timezone = models.CharField(max_length=64, default="Europe/Amsterdam")
    can_ship = models.BooleanField(default=True, help_text="Ships parcels to customers (warehouse or ship-from-store).")
    can_pickup = models.BooleanField(default=False, help_text="Hands orders to customers (click & collect).")
    can_same_day = models.BooleanField(default=False)
    accepts_returns = models.BooleanField(default=False)
    daily_order_capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    handling_cost_per_order = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("1.00"))
    handling_cost_per_unit = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.20"))
    processing_minutes = models.PositiveIntegerField(default=120)
    open_weekdays = models.CharField(max_length=7, default="012345",
                                     help_text="Working weekdays, Monday=0: '01234' is Monday to Friday.")
    opens_at = models.TimeField(default=datetime.time(9), help_text="Local time work starts.")
    closes_at = models.TimeField(default=datetime.time(21))
    order_cutoff = models.TimeField(default=datetime.time(18),
                                    help_text="Orders received after this local time start the next working day.")
    holidays = models.JSONField(default=list, blank=True, help_text='Closed dates, e.g. ["2026-12-25"].')
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90)
                                   & Q(longitude__gte=-180, longitude__lte=180), name="location_coordinates_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockLevel(models.Model):
    """Quantities of one SKU at one location, in named states (after Shopify's model).

    `on_hand` is everything physically there; reserved, damaged and quality_control are
    parts of it. available = on_hand - reserved - safety_stock - damaged - quality_control.
    Every change appends a StockMovement; `check_inventory` proves the sums.
    """

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="stock_levels",
                            db_index=False)  # the (sku, location) unique index covers it
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels",
                                 db_index=False)  # the (location, sku) index covers it
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    damaged = models.IntegerField(default=0)
    quality_control = models.IntegerField(default=0)
    reorder_point = models.PositiveIntegerField(default=0, help_text="Replenish when available falls to this (min).")
    reorder_target = models.PositiveIntegerField(default=0, help_text="Replenish up to this (max). 0: not managed.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "location"], name="one_stock_level_per_sku_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="reserved_not_negative"),
            models.CheckConstraint(condition=Q(safety_stock__gte=0), name="safety_stock_not_negative"),
            models.CheckConstraint(condition=Q(incoming__gte=0), name="incoming_not_negative"),
            models.CheckConstraint(condition=Q(damaged__gte=0), name="damaged_not_negative"),
            models.CheckConstraint(condition=Q(quality_control__gte=0), name="quality_control_not_negative"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("reserved") + F("damaged") + F("quality_control")),
                name="reserved_damaged_qc_within_on_hand",
            ),
        ]
        indexes = [models.Index(fields=["location", "sku"])]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}"

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock - self.damaged - self.quality_control)


class AdjustmentReason(models.TextChoices):
    """Why on_hand was adjusted by hand (the reason code of an `adjust` movement)."""

    CORRECTION = "correction", "Correction of a booking error"
    COUNT = "count", "Counted difference (prefer a cycle count, which also releases reservations)"
    FOUND = "found", "Found (unrecorded units)"
    LOST = "lost", "Lost / missing"
    THEFT = "theft", "Theft"
    EXPIRED = "expired", "Expired / past sell-by"
    SAMPLE = "sample", "Used as sample or display"
    CUSTOMER_RETURN = "customer_return", "Customer return put back"
    RETURN_TO_VENDOR = "return_to_vendor", "Returned to vendor"
    OTHER = "other", "Other (say why in the note)"


class StockMovement(models.Model):
    """One immutable change of one quantity state. Never updated or deleted (on Postgres a
    trigger refuses UPDATE and DELETE, migration 0004)."""

    class State(models.TextChoices):
        ON_HAND = "on_hand"
        RESERVED = "reserved"
        SAFETY_STOCK = "safety_stock"
        INCOMING = "incoming"
        DAMAGED = "damaged"
        QUALITY_CONTROL = "quality_control"

    # Indexed by (stock_level, state) below, which serves lookups by stock level too.
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements", db_index=False)
    state = models.CharField(max_length=16, choices=State.choices)
    delta = models.IntegerField()
    reason = models.CharField(max_length=32)
    reference_type = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["stock_level", "state"]),
                   models.Index(fields=["reference_type", "reference_id"])]
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.state} {self.delta:+d} ({self.reason})"


class Reservation(models.Model):
    """Units of one stock level promised to something: an order line or a checkout hold."""

    class Status(models.TextChoices):
        OPEN = "open"
        RELEASED = "released"
        COMMITTED = "committed"

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    reference_type = models.CharField(max_length=32)
    reference_id = models.CharField(max_length=64)
    channel_code = models.CharField(max_length=32, blank=True,
                                    help_text="The sales channel that owns a checkout hold (its API scope).")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    HOLD = "cart"  # reference_type of a checkout hold

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]
        indexes = [
            models.Index(fields=["stock_level"], name="reservation_open_idx", condition=Q(status="open")),
            models.Index(fields=["reference_type", "reference_id"]),
            models.Index(fields=["expires_at"], name="reservation_hold_expiry_idx",
                         condition=Q(status="open", expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.stock_level_id} for {self.reference_type}:{self.reference_id}"


class Transfer(models.Model):
    """Stock sent from one location to another: requested -> shipped -> (partially_)received.

    Shipping takes the units out of the source's on_hand and books them as `incoming` at
    the destination; receiving turns incoming into on_hand there."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        SHIPPED = "shipped"
        PARTIALLY_RECEIVED = "partially_received"
        RECEIVED = "received"
        CANCELLED = "cancelled"

    number = models.CharField(max_length=16, unique=True)
    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    created_by = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True, help_text="When the receipt was closed.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_locations"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="transfer_lines")
    quantity_requested = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_received = models.PositiveIntegerField(default=0)
    discrepancy = models.IntegerField(default=0, help_text="Received minus shipped, recorded when the receipt closes.")
    discrepancy_note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="one_transfer_line_per_sku"),
            models.CheckConstraint(condition=Q(quantity_requested__gt=0), name="transfer_line_requested_positive"),
            models.CheckConstraint(condition=Q(quantity_shipped__lte=F("quantity_requested")),
                                   name="transfer_line_shipped_within_requested"),
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id}: {self.quantity_requested} x {self.sku_id}"

    @property
    def outstanding(self) -> int:
        """Shipped units not yet received (what is still `incoming` for this line)."""
        return max(0, self.quantity_shipped - self.quantity_received)


class PosReceipt(models.Model):
    """A store till receipt whose units left that store's on_hand. One per (location, receipt_id):
    the same receipt sent twice is sold once."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="pos_receipts")
    receipt_id = models.CharField(max_length=64)
    channel_code = models.CharField(max_length=32, blank=True)
    lines = models.JSONField(default=list, help_text='[{"sku": code, "quantity": n}, ...]')
    actor = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "receipt_id"], name="pos_receipt_once")]
        verbose_name = "POS receipt"

    def __str__(self) -> str:
        return f"{self.receipt_id}@{self.location_id}"
