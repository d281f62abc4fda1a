"""Warehouse admin. Quantities and floor documents are written by the services (read-only
here); layout (zones, bins, box types) is configured here. Waves are released with an
admin action that calls the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction

from inventory.models import Location
from omnichannel.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from omnichannel.errors import DomainError
from omnichannel.permissions import principal_for_user
from warehouse.models import (
    Bin,
    BinStock,
    BoxType,
    CarrierManifest,
    ManifestPackage,
    Package,
    PackedItem,
    PackingBox,
    PickList,
    PickTask,
    PutBack,
    Receipt,
    ReceiptLine,
    ReturnLine,
    ReturnReceipt,
    Tote,
    Wave,
    Zone,
)
from warehouse.services import picking


@admin.register(Package)
class PackageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "reference", "location", "weight_grams", "length_cm", "width_cm", "height_cm",
                    "created_at", "voided_at"]
    list_filter = ["location"]
    search_fields = ["reference", "location__code"]
    list_select_related = ["location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location"]
    list_filter = ["location"]


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    list_display = ["code", "barcode", "kind", "zone", "location", "pick_sequence", "is_active"]
    list_filter = ["location", "kind"]
    search_fields = ["code", "barcode"]
    list_select_related = ["zone", "location"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BinStock)
class BinStockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["bin", "sku", "quantity", "updated_at"]
    list_filter = ["bin__location"]
    search_fields = ["sku__code", "bin__code"]
    list_select_related = ["bin", "sku"]


@admin.register(BoxType)
class BoxTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location", "length_mm", "width_mm", "height_mm", "max_weight_grams",
                    "tare_grams", "is_active"]
    list_filter = ["location"]


class ReceiptLineInline(ReadOnlyTabularInline):
    model = ReceiptLine
    fields = ["sku", "expected_quantity", "received_quantity", "put_away_quantity", "discrepancy",
              "discrepancy_units"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "location", "source", "supplier", "reference", "status", "created_at"]
    list_filter = ["location", "status", "source"]
    search_fields = ["number", "reference"]
    inlines = [ReceiptLineInline]


class PickTaskInline(ReadOnlyTabularInline):
    model = PickTask
    fields = ["sequence", "bin", "sku", "tote", "quantity", "picked", "short", "short_reason", "status"]


@admin.register(PickList)
class PickListAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "location", "kind", "wave", "status", "created_at"]
    list_filter = ["location", "status", "kind"]
    search_fields = ["number"]
    inlines = [PickTaskInline]


@admin.register(PutBack)
class PutBackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "location", "fulfillment", "sku", "bin", "quantity", "booked", "created_at", "done_at",
                    "done_by"]
    list_filter = ["location"]
    search_fields = ["fulfillment__number", "fulfillment__order__number", "sku__code", "bin__code"]
    list_select_related = ["location", "fulfillment", "sku", "bin"]
    ordering = ["-pk"]


@admin.register(Wave)
class WaveAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "location", "delivery_method", "cutoff_before", "status", "created_by", "created_at"]
    list_filter = ["location", "status"]


class ManifestPackageInline(ReadOnlyTabularInline):
    model = ManifestPackage
    fields = ["tracking_number", "package", "scanned_at"]


@admin.register(CarrierManifest)
class CarrierManifestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "location", "carrier", "status", "package_count", "closed_at"]
    list_filter = ["location", "status"]
    inlines = [ManifestPackageInline]


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    fields = ["order_line", "sku", "disposition", "quantity"]


@admin.register(ReturnReceipt)
class ReturnReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "order", "location", "status", "received_at"]
    list_filter = ["location", "status"]
    search_fields = ["number", "order__number"]
    inlines = [ReturnLineInline]


@admin.action(description="Release a wave of every waiting fulfillment at the selected locations")
def release_wave(modeladmin, request, queryset) -> None:  # pragma: no cover - thin admin wiring
    principal = principal_for_user(request.user)
    for location_id in queryset.values_list("location_id", flat=True).distinct():
        try:
            with transaction.atomic():
                wave = picking.wave_create(Location.objects.get(pk=location_id),
                                           actor=principal.actor if principal else "admin")
            modeladmin.message_user(request, f"Wave {wave.number} released.", messages.SUCCESS)
        except DomainError as error:
            modeladmin.message_user(request, error.detail, messages.WARNING)


ZoneAdmin.actions = [release_wave]  # type: ignore[misc, list-item]


@admin.register(ReceiptLine)
class ReceiptLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["receipt", "sku", "expected_quantity", "received_quantity", "put_away_quantity", "discrepancy"]
    list_select_related = ["receipt", "sku"]


@admin.register(Tote)
class ToteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "pick_list", "fulfillment", "position"]
    list_select_related = ["pick_list", "fulfillment"]


@admin.register(PickTask)
class PickTaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pick_list", "sequence", "bin", "sku", "quantity", "picked", "short", "status"]
    list_filter = ["status"]
    list_select_related = ["pick_list", "bin", "sku"]


class PackedItemInline(ReadOnlyTabularInline):
    model = PackedItem
    fields = ["sku", "quantity"]


@admin.register(PackingBox)
class PackingBoxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["fulfillment", "sequence", "box_type", "weight_grams", "package"]
    list_select_related = ["fulfillment", "box_type", "package"]
    inlines = [PackedItemInline]


@admin.register(PackedItem)
class PackedItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["box", "sku", "quantity"]
    list_select_related = ["box", "sku"]


@admin.register(ManifestPackage)
class ManifestPackageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["tracking_number", "manifest", "package", "scanned_at"]
    list_select_related = ["manifest", "package"]


@admin.register(ReturnLine)
class ReturnLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["return_receipt", "order_line", "sku", "disposition", "quantity"]
    list_select_related = ["return_receipt", "order_line", "sku"]
