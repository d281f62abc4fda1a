from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q


class Customer(models.Model):
    """One person across every channel, matched on normalised email or E.164 phone."""

    email = models.EmailField(unique=True, null=True, blank=True)
    phone = models.CharField(max_length=20, unique=True, null=True, blank=True, help_text="E.164")
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(email__isnull=False) | Q(phone__isnull=False),
                                              name="customer_has_email_or_phone")]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"Customer {self.pk}"


class DeliveryMethod(models.TextChoices):
    SHIP = "ship", "Ship to address"
    PICKUP = "pickup", "Click & collect"
    SAME_DAY = "same_day", "Same-day delivery"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed, awaiting routing"
        BACKORDERED = "backordered", "Backordered"
        ALLOCATED = "allocated", "Allocated to locations"
        IN_PROGRESS = "in_progress", "Being prepared"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        PICKED_UP = "picked_up", "Picked up"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20)  # unique: Meta.constraints (no prefix-search index)
    # Indexed by (channel, placed_at) below, which serves lookups by channel too.
    channel = models.ForeignKey("channels_sync.SalesChannel", on_delete=models.PROTECT, related_name="orders",
                                db_index=False)
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - NULL: unique only when given
    # The unified customer (ops' view, across channels) may hold details other channels gave;
    # the contact is what this order was placed with (normalised: email lower case, phone
    # E.164), and all that the order shows its channel or uses to tell the customer.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    contact_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    delivery_method = models.CharField(max_length=10, choices=DeliveryMethod.choices)
    ship_name = models.CharField(max_length=200, blank=True)
    ship_line1 = models.CharField(max_length=200, blank=True)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=20, blank=True)
    ship_country = models.CharField(max_length=2, blank=True)
    ship_phone = models.CharField(max_length=20, blank=True)
    ship_latitude = models.FloatField(null=True, blank=True)
    ship_longitude = models.FloatField(null=True, blank=True)
    pickup_location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="pickup_orders")
    promised_by = models.DateTimeField(null=True, blank=True, help_text="Latest delivery/ready time promised.")
    promise_option = models.CharField(max_length=64, blank=True)
    at_risk_reason = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    total_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["channel", "external_id"], condition=Q(external_id__isnull=False),
                                    name="one_order_per_channel_external_id"),
            models.CheckConstraint(
                condition=~Q(delivery_method="pickup") | Q(pickup_location__isnull=False),
                name="pickup_order_has_location"),
            models.CheckConstraint(
                condition=Q(delivery_method="pickup") | ~Q(ship_line1=""),
                name="shipped_order_has_address"),
        ]
        # A channel's newest orders first (its order list) without sorting all of its orders; the
        # orders in one status oldest first (backorders retried in order, ops' lists by status).
        # Declared here rather than `unique=True` / `db_index=True` on the fields, which on
        # Postgres add a second, `varchar_pattern_ops` index to each for LIKE 'prefix%' queries
        # that nothing runs: one more index written by every order insert and status change.
        indexes = [models.Index(fields=["channel", "placed_at", "id"], name="order_channel_placed"),
                   models.Index(fields=["status", "placed_at"], name="order_status_placed")]
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    # Indexed by the (order, line_number) constraint below, which serves lookups by order too.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    backordered_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="line_number_once_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(backordered_quantity__lte=models.F("quantity")),
                                   name="backorder_within_quantity"),
        ]
        ordering = ["order", "line_number"]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_number}"


class Fulfillment(models.Model):
    """The part of an order that one location fulfils."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting acceptance"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        PICKING = "picking"
        PICKED = "picked"
        PACKED = "packed"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        READY_FOR_PICKUP = "ready_for_pickup"
        PICKED_UP = "picked_up"
        CANCELLED = "cancelled"

    # Picking finished, the units in hand: one set for the floor (warehouse.services.picking)
    # and for what a count leaves of a fulfillment (orders.services.reroute).
    PICKING_FINISHED = frozenset({Status.PICKED, Status.PACKED, Status.READY_FOR_PICKUP})

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillments")
    number = models.CharField(max_length=30)  # unique: Meta.constraints
    # Indexed by (location, created_at) below, which serves lookups by location too.
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="fulfillments",
                                 db_index=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    carrier_service = models.ForeignKey("transport.CarrierService", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    shipment = models.OneToOneField("transport.Shipment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="fulfillment")
    packages = models.ManyToManyField("warehouse.Package", blank=True, related_name="fulfillments")
    pickup_code = models.CharField(max_length=12, blank=True)
    pickup_code_attempts = models.PositiveSmallIntegerField(default=0)
    rejection_reason = models.CharField(max_length=32, blank=True)
    rejection_note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["number"], name="fulfillment_number_unique")]
        # Routing counts each candidate location's fulfillments of today (daily capacity):
        # without this it reads every fulfillment the location ever had. Number and status as
        # on Order: no prefix-search twins.
        indexes = [models.Index(fields=["location", "created_at"], name="fulfillment_location_day"),
                   models.Index(fields=["status"], name="fulfillment_status")]

    def __str__(self) -> str:
        return self.number


class LocationDayLoad(models.Model):
    """How many fulfillments a location took on one local day (rejected and cancelled ones
    not counted): what routing and promises check its daily order capacity against.

    Kept as a counter because counting the day's fulfillments on every routing grows with the
    day. A location's day is spread over a few rows (`shard`), each routing adding to one at
    random, so concurrent routings to a location rarely wait on each other's row lock; the
    day's figure is their sum. Written only by `orders.services.capacity`."""

    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.PositiveSmallIntegerField()
    fulfillments = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day", "shard"], name="location_day_load_unique")]

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} #{self.shard}: {self.fulfillments}"


class Allocation(models.Model):
    """Units of an order line held by one reservation at one location.

    Without a fulfillment it is provisional: stock guaranteed at placement, before
    routing decides where the order is fulfilled (see docs/adr/0001)."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reservation = models.OneToOneField("inventory.Reservation", on_delete=models.PROTECT, related_name="+")
    fulfillment = models.ForeignKey(Fulfillment, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="allocations")
    is_active = models.BooleanField(default=True, help_text="False once released (re-routed or cancelled).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="allocation_quantity_positive")]
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id} at {self.location_id}"



class OrderEvent(models.Model):
    """The order's timeline: every status change with time, actor and payload."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    fulfillment = models.ForeignKey(Fulfillment, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="events")
    type = models.CharField(max_length=64)
    status_from = models.CharField(max_length=20, blank=True)
    status_to = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.type} ({self.created_at:%Y-%m-%d %H:%M})"



def default_rules() -> list[str]:
    return ["min_splits", "closest"]


def default_cost_model() -> dict[str, float]:
    # Jasin & Sinha's published e-commerce shipping cost (per shipment, per unit, per unit-km).
    return {"per_shipment": 8.759, "per_unit": 0.423, "per_unit_km": 0.000336, "per_kg": 0.0, "per_kg_km": 0.0,
            "unfilled_unit_penalty": 50.0, "split_penalty": 2.0, "late_penalty": 25.0}


class RoutingRuleSet(models.Model):
    """A versioned routing configuration for one channel (or the default, channel empty).

    Edit a draft, simulate it against recent orders, then activate it; the active
    version is recorded on every routing decision."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        RETIRED = "retired"

    class Strategy(models.TextChoices):
        OPTIMAL = "optimal", "Optimal (minimum total cost)"
        RULES = "rules", "Ordered rules"
        MYOPIC = "myopic", "Nearest per line (baseline)"

    channel = models.ForeignKey("channels_sync.SalesChannel", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="rule_sets")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default=Strategy.OPTIMAL)
    rules = models.JSONField(default=default_rules, blank=True,
                             help_text="For the rules strategy and as fallback: ranked, min_splits, closest, "
                                       "cheapest, most_stock.")
    ranking = models.JSONField(default=list, blank=True, help_text="Location codes, best first (rule 'ranked').")
    cost_model = models.JSONField(default=default_cost_model)
    max_shipments = models.PositiveSmallIntegerField(null=True, blank=True)
    time_limit_ms = models.PositiveIntegerField(default=200)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "version"], name="rule_set_version_once",
                                    nulls_distinct=False),
            models.UniqueConstraint(fields=["channel"], condition=Q(status="active"), name="one_active_rule_set",
                                    nulls_distinct=False),
        ]
        ordering = ["channel_id", "-version"]

    def __str__(self) -> str:
        return f"{self.channel or 'default'} v{self.version} ({self.status})"

    @property
    def label(self) -> str:
        return f"{self.channel.code if self.channel else 'default'}-v{self.version}"


class RoutingDecision(models.Model):
    """One run of the router for an order: what it saw, what it chose, and why the others lost."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="routing_decisions")
    strategy = models.CharField(max_length=20)
    rule_set_version = models.CharField(max_length=40, blank=True)
    trigger = models.CharField(max_length=40, default="placed")
    outcome = models.CharField(max_length=20)
    excluded_locations = models.JSONField(default=list, blank=True)
    inputs = models.JSONField(default=dict)
    plan = models.JSONField(default=list)
    cost = models.JSONField(default=dict)
    candidates = models.JSONField(default=list)
    solver_status = models.CharField(max_length=40, blank=True)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.strategy} {self.outcome} for order {self.order_id}"



class CustomerNotification(models.Model):
    """One message to a customer about one event; unique per event and medium, so a task
    that runs twice never sends twice."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    event = models.ForeignKey("kernel.OutboxEvent", on_delete=models.PROTECT, related_name="+",
                              db_index=False)  # the unique (event, medium) index serves it
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64)
    medium = models.CharField(max_length=16, default="email")
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "medium"], name="one_notification_per_event_medium")]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"
