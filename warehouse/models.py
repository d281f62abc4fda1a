"""The floor inside a location: zones and bins with their quantities, receipts and
putaway, waves, pick lists and tasks, packing, carrier manifests and returns.

Quantities per bin (`BinStock`) add up to the stock level's `on_hand` at every location
that has bins (`warehouse.checks.bin_violations`). Only `warehouse.services` writes here.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Package(models.Model):
    """A packed parcel at a location, waiting for (or handed to) a carrier."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="packages")
    reference = models.CharField(max_length=64, db_index=True, help_text="What it holds, e.g. a fulfillment.")
    weight_grams = models.PositiveIntegerField()
    length_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    width_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    height_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Its order was cancelled before it left: unpacked, never shipped.")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(weight_grams__gt=0), name="package_weight_positive")]

    def __str__(self) -> str:
        return f"Package {self.pk} ({self.weight_grams} g)"


# --- layout ------------------------------------------------------------------------------------------


class Zone(models.Model):
    """An area of a location (aisles A-C, the shop floor, the dock)."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="zones")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "code"], name="zone_code_once_per_location")]
        ordering = ["location", "code"]

    def __str__(self) -> str:
        return f"{self.code} @ {self.location_id}"


class Bin(models.Model):
    """A place units sit in. Storage bins are picked in `pick_sequence` order; the special
    bins (one of each per location) hold units between steps: received and waiting for
    putaway, picked and waiting to leave, damaged."""

    class Kind(models.TextChoices):
        STORAGE = "storage", "Storage (picked from)"
        RECEIVING = "receiving", "Receiving dock (waiting for putaway)"
        OUTBOUND = "outbound", "Packing / outbound (picked, waiting to leave)"
        QUARANTINE = "quarantine", "Quarantine (damaged)"

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="bins")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="bins")
    code = models.CharField(max_length=32, help_text="What the picker reads, e.g. A-03-2.")
    barcode = models.CharField(max_length=64, unique=True, help_text="What the scanner reads.")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STORAGE)
    pick_sequence = models.PositiveIntegerField(default=0, help_text="The walking order; lower first.")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "code"], name="bin_code_once_per_location"),
            models.UniqueConstraint(fields=["location", "kind"], condition=~Q(kind="storage"),
                                    name="one_special_bin_per_kind"),
        ]
        ordering = ["location", "pick_sequence", "code"]

    def __str__(self) -> str:
        return self.code


class BinStock(models.Model):
    """Units of one SKU in one bin (all states: sellable, reserved, damaged, in QC)."""

    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="stock")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="bin_stock")
    quantity = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bin", "sku"], name="one_bin_stock_per_bin_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="bin_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} in {self.bin_id}"


class BoxType(models.Model):
    """A carton a location packs into (inner size in mm, what it may weigh in total)."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="box_types")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=100)
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    max_weight_grams = models.PositiveIntegerField()
    tare_grams = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "code"], name="box_type_once_per_location")]
        ordering = ["location", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# --- receiving -----------------------------------------------------------------------------------------


class Receipt(models.Model):
    """Goods expected at a location: a transfer from another location or a supplier's
    advance shipping notice. Scanned units go to the receiving bin in quality control and
    become sellable only when put away."""

    class Source(models.TextChoices):
        TRANSFER = "transfer"
        SUPPLIER = "supplier", "Supplier ASN"

    class Status(models.TextChoices):
        EXPECTED = "expected"
        RECEIVING = "receiving"
        CLOSED = "closed"

    number = models.CharField(max_length=20, unique=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="receipts")
    source = models.CharField(max_length=10, choices=Source.choices)
    transfer = models.OneToOneField("inventory.Transfer", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="receipt")
    supplier = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=64, blank=True, help_text="The supplier's ASN or delivery number.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.EXPECTED)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(source="transfer") | Q(transfer__isnull=False),
                                              name="transfer_receipt_has_transfer")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class ReceiptLine(models.Model):
    class Discrepancy(models.TextChoices):
        NONE = "", "none"
        OVER = "over"
        UNDER = "under"
        UNEXPECTED = "unexpected"

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.PositiveIntegerField(default=0)
    received_quantity = models.PositiveIntegerField(default=0)
    put_away_quantity = models.PositiveIntegerField(default=0)
    discrepancy = models.CharField(max_length=10, choices=Discrepancy.choices, blank=True)
    discrepancy_units = models.IntegerField(default=0, help_text="Received minus expected, set when closed.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt", "sku"], name="one_receipt_line_per_sku"),
            models.CheckConstraint(condition=Q(put_away_quantity__lte=F("received_quantity")),
                                   name="put_away_within_received"),
        ]
        ordering = ["receipt", "pk"]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.received_quantity}/{self.expected_quantity} x {self.sku_id}"

    @property
    def waiting_for_putaway(self) -> int:
        return self.received_quantity - self.put_away_quantity


# --- picking -------------------------------------------------------------------------------------------


class Wave(models.Model):
    """A release of work by ops: fulfillments grouped by carrier cutoff or delivery method."""

    class Status(models.TextChoices):
        RELEASED = "released"
        DONE = "done"

    number = models.CharField(max_length=20, unique=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="waves")
    delivery_method = models.CharField(max_length=10, blank=True)
    cutoff_before = models.TimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RELEASED)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class PickList(models.Model):
    """One walk: a single order (stores) or a batch of fulfillments, each into its own tote."""

    class Kind(models.TextChoices):
        SINGLE = "single"
        BATCH = "batch"

    class Status(models.TextChoices):
        OPEN = "open"
        PICKING = "picking"
        DONE = "done"

    number = models.CharField(max_length=20, unique=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="pick_lists")
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.PROTECT, related_name="pick_lists")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.number


class Tote(models.Model):
    """One fulfillment's container on a pick list."""

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="totes")
    fulfillment = models.ForeignKey("orders.Fulfillment", on_delete=models.PROTECT, related_name="totes")
    code = models.CharField(max_length=32)
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pick_list", "position"], name="tote_position_once"),
            models.UniqueConstraint(fields=["pick_list", "fulfillment"], name="fulfillment_once_per_pick_list"),
        ]
        ordering = ["pick_list", "position"]

    def __str__(self) -> str:
        return self.code


# A tote whose fulfillment is in one of these states is off its pick list: its order was
# cancelled, or the location rejected it (or its stock went), so it is no longer this
# location's to pick. Orders' `Fulfillment.Status` values.
LEFT_THE_WALK = ("rejected", "cancelled")


class PickTaskQuerySet(models.QuerySet["PickTask"]):
    """The one definition of a picker's work, shared by every screen and the staff API."""

    def on_list(self) -> PickTaskQuerySet:
        """Tasks of the totes still on their pick list (not of a fulfillment that left it)."""
        return self.exclude(tote__fulfillment__status__in=LEFT_THE_WALK)

    def to_walk(self) -> PickTaskQuerySet:
        """What a picker still has to pick: the open tasks of totes still on their list."""
        return self.on_list().filter(status=PickTask.Status.OPEN)


class PickTask(models.Model):
    """Pick `quantity` of a SKU from a bin into a tote, for one order line."""

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"
        SHORT = "short"
        CANCELLED = "cancelled"  # its tote left the walk: the order was cancelled or the fulfillment rejected

    class ShortReason(models.TextChoices):
        NOT_FOUND = "not_found", "Not found"
        DAMAGED = "damaged", "Damaged"

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="tasks")
    tote = models.ForeignKey(Tote, on_delete=models.CASCADE, related_name="tasks")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="pick_tasks")
    sequence = models.PositiveIntegerField(help_text="Place in the walk (engine.walk_order).")
    quantity = models.PositiveIntegerField()
    picked = models.PositiveIntegerField(default=0)
    short = models.PositiveIntegerField(default=0)
    short_reason = models.CharField(max_length=10, choices=ShortReason.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    objects = PickTaskQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="pick_task_quantity_positive"),
            models.CheckConstraint(condition=Q(picked__lte=F("quantity") - F("short")),
                                   name="picked_within_task"),
        ]
        ordering = ["pick_list", "sequence", "pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} from {self.bin_id}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.picked - self.short


# --- packing -------------------------------------------------------------------------------------------


class PackingBox(models.Model):
    """A box being filled at the packing bench; becomes a Package when the fulfillment is packed."""

    fulfillment = models.ForeignKey("orders.Fulfillment", on_delete=models.CASCADE, related_name="packing_boxes")
    sequence = models.PositiveSmallIntegerField()
    box_type = models.ForeignKey(BoxType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    package = models.OneToOneField(Package, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fulfillment", "sequence"], name="box_sequence_once")]
        ordering = ["fulfillment", "sequence"]

    def __str__(self) -> str:
        return f"box {self.sequence} of {self.fulfillment_id}"


class PackedItem(models.Model):
    box = models.ForeignKey(PackingBox, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["box", "sku"], name="one_packed_item_per_box_sku")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id}"


class CarrierManifest(models.Model):
    """Packages handed to one carrier's pickup; closes with a count."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="manifests")
    carrier = models.ForeignKey("transport.Carrier", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    package_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "carrier"], condition=Q(status="open"),
                                               name="one_open_manifest_per_carrier")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"manifest {self.pk}"


class ManifestPackage(models.Model):
    manifest = models.ForeignKey(CarrierManifest, on_delete=models.CASCADE, related_name="entries")
    package = models.OneToOneField(Package, on_delete=models.PROTECT, related_name="manifest_entry")
    tracking_number = models.CharField(max_length=40)
    scanned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["manifest", "pk"]

    def __str__(self) -> str:
        return self.tracking_number


class PutBack(models.Model):
    """Units picked for an order that was cancelled (during its pick walk, or after it:
    picked, packed or waiting for pickup), to carry from the tote or the packing bin back to
    a storage bin: booked (packing bin -> `bin`) when the order was cancelled, listed at the
    packing station (and, for a tote taken off a walk, on that pick list's screen) until
    someone says they are back (`done_at`). One per pick task: a task's units go back once."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    fulfillment = models.ForeignKey("orders.Fulfillment", on_delete=models.PROTECT, related_name="put_backs")
    pick_task = models.OneToOneField(PickTask, on_delete=models.PROTECT, related_name="put_back")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="+", help_text="Where they go back to.")
    quantity = models.PositiveIntegerField(help_text="Units to carry back (picked into the tote).")
    booked = models.PositiveIntegerField(help_text="Units moved in the books from the packing bin (fewer only "
                                                   "when the packing bin held fewer).")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="put_back_quantity_positive"),
            models.CheckConstraint(condition=Q(booked__lte=F("quantity")), name="put_back_booked_within_quantity"),
        ]
        indexes = [models.Index(fields=["location", "done_at"], name="put_back_open_at_location")]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} back to {self.bin_id}"


# --- returns -------------------------------------------------------------------------------------------


class ReturnReceipt(models.Model):
    """Units of an order brought back to a location; what a storefront needs to refund."""

    class Status(models.TextChoices):
        OPEN = "open"
        RECEIVED = "received"

    number = models.CharField(max_length=20, unique=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="returns")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    class Disposition(models.TextChoices):
        RESTOCK = "restock", "Restock here"
        DAMAGED = "damaged", "Damaged"
        MISSING = "missing", "Missing (not in the parcel)"

    return_receipt = models.ForeignKey(ReturnReceipt, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    disposition = models.CharField(max_length=10, choices=Disposition.choices)
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["return_receipt", "order_line", "disposition"],
                                               name="one_return_line_per_disposition")]
        ordering = ["return_receipt", "pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} ({self.disposition})"
