"""Inventory admin. Quantities are read-only here: they change only through
`inventory.services`, so the ledger and `check_inventory` stay true."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.models import Location, Product, Reservation, Sku, StockLevel, StockMovement
from inventory.selectors import AVAILABLE
from omnichannel.admin import ReadOnlyAdminMixin

QUANTITIES = ["on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control"]


class SkuInline(admin.TabularInline):
    model = Sku
    fields = ["code", "name", "barcode", "attributes", "price", "weight_grams", "is_active"]
    readonly_fields = ["attributes"]
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "brand", "category", "sku_count"]
    list_filter = ["category", "brand"]
    search_fields = ["code", "name", "brand"]
    ordering = ["code"]
    inlines = [SkuInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sku_total=Count("skus"))

    @admin.display(description="SKUs", ordering="sku_total")
    def sku_count(self, obj: Product) -> int:
        return getattr(obj, "sku_total", 0)


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "product", "barcode", "attributes", "price", "weight_grams", "is_active"]
    list_filter = ["is_active", "product__category", "product__brand"]
    search_fields = ["code", "barcode", "name", "product__code", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    ordering = ["code"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city", "can_ship", "can_pickup", "can_same_day", "accepts_returns",
                    "daily_order_capacity", "is_active"]
    list_filter = ["kind", "is_active", "can_ship", "can_pickup", "can_same_day", "accepts_returns", "city"]
    search_fields = ["code", "name", "city", "postal_code", "address_line1"]
    ordering = ["kind", "code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        ("Address", {"fields": ["address_line1", "postal_code", "city", "country", ("latitude", "longitude"),
                                "timezone"]}),
        ("Capabilities", {"fields": ["can_ship", "can_pickup", "can_same_day", "accepts_returns"]}),
        ("Capacity and cost", {"fields": ["daily_order_capacity", "processing_minutes", "handling_cost_per_order",
                                          "handling_cost_per_unit"]}),
    ]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """View-only: saving the form would write back quantities read a moment earlier (a lost update)."""

    list_display = ["sku", "location", "available", *QUANTITIES, "updated_at"]
    list_filter = ["location__kind", "location"]
    search_fields = ["sku__code", "sku__barcode", "sku__name", "location__code"]
    list_select_related = ["sku", "location"]
    ordering = ["sku__code", "location__code"]
    fields = readonly_fields = ("sku", "location", "available", *QUANTITIES, "updated_at", "history")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_quantity=AVAILABLE)

    @admin.display(description="available", ordering="available_quantity")
    def available(self, obj: StockLevel) -> int:
        return obj.available

    @admin.display(description="history")
    def history(self, obj: StockLevel) -> SafeString:
        movements = reverse("admin:inventory_stockmovement_changelist")
        reservations = reverse("admin:inventory_reservation_changelist")
        return format_html('<a href="{}?stock_level__id__exact={}">Movements</a> · '
                           '<a href="{}?stock_level__id__exact={}&amp;status__exact=open">Open reservations</a>',
                           movements, obj.pk, reservations, obj.pk)


class _StockLevelColumns:
    """SKU and location columns of rows hanging off a stock level."""

    @admin.display(description="SKU", ordering="stock_level__sku__code")
    def sku(self, obj) -> str:
        return obj.stock_level.sku.code

    @admin.display(description="location", ordering="stock_level__location__code")
    def location(self, obj) -> str:
        return obj.stock_level.location.code

    @admin.display(description="reference")
    def reference(self, obj) -> str:
        return f"{obj.reference_type}:{obj.reference_id}" if obj.reference_type else obj.reference_id


@admin.register(StockMovement)
class StockMovementAdmin(_StockLevelColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "sku", "location", "state", "delta", "reason", "reference", "actor", "note"]
    list_filter = ["state", "reason", "stock_level__location"]
    search_fields = ["stock_level__sku__code", "reference_id", "actor", "note"]
    list_select_related = ["stock_level__sku", "stock_level__location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]


@admin.register(Reservation)
class ReservationAdmin(_StockLevelColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "sku", "location", "quantity", "status", "reference", "expires_at", "created_at",
                    "closed_at"]
    list_filter = ["status", "reference_type", "stock_level__location"]
    search_fields = ["stock_level__sku__code", "reference_id"]
    list_select_related = ["stock_level__sku", "stock_level__location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
