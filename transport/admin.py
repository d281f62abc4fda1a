"""Transport admin: carriers, services and rate cards are configuration (editable);
shipments and tracking are written by `transport.services` (read-only here)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from omnichannel.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, json_pretty
from omnichannel.timeofday import ADMIN_TIME_OF_DAY
from transport.models import Carrier, CarrierService, RateCardEntry, Shipment, ShipmentParcel, TrackingEvent


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    fields = ["code", "name", "transit_days", "cutoff_time", "is_same_day", "max_distance_km", "is_active"]
    formfield_overrides = ADMIN_TIME_OF_DAY  # a cutoff typed 15.30 is 15:30
    extra = 0
    show_change_link = True


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    inlines = [CarrierServiceInline]


class RateCardEntryInline(admin.TabularInline):
    model = RateCardEntry
    fields = ["max_weight_grams", "max_km", "price", "currency"]
    extra = 0


@admin.register(CarrierService)
class CarrierServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "carrier", "transit_days", "cutoff_time", "is_same_day", "max_distance_km",
                    "is_active"]
    list_filter = ["carrier", "is_same_day", "is_active"]
    search_fields = ["code", "name", "carrier__name"]
    list_select_related = ["carrier"]
    ordering = ["carrier__code", "code"]
    inlines = [RateCardEntryInline]
    formfield_overrides = ADMIN_TIME_OF_DAY  # a cutoff typed 15.30 is 15:30


@admin.register(RateCardEntry)
class RateCardEntryAdmin(admin.ModelAdmin):
    list_display = ["service", "max_weight_grams", "max_km", "price", "currency"]
    list_filter = ["service__carrier", "service"]
    search_fields = ["service__code"]
    list_select_related = ["service__carrier"]
    ordering = ["service__code", "max_weight_grams", "max_km"]


def label_link(shipment: Shipment) -> SafeString:
    url = reverse("shipment-label", kwargs={"tracking_number": shipment.tracking_number})
    return format_html('<a href="{}" target="_blank" rel="noopener">Label PDF</a>', url)


class ShipmentParcelInline(ReadOnlyTabularInline):
    model = ShipmentParcel
    fields = ["sequence", "tracking_number", "weight_grams"]
    show_change_link = False


class TrackingEventInline(ReadOnlyTabularInline):
    model = TrackingEvent
    fields = ["occurred_at", "status", "location", "description", "received_at"]
    show_change_link = False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["tracking_number", "status", "service", "reference", "parcel_count", "weight_grams", "cost",
                    "estimated_delivery", "created_at", "delivered_at", "label"]
    list_filter = ["status", "service__carrier", "service"]
    search_fields = ["tracking_number", "reference", "parcels__tracking_number"]
    list_select_related = ["service__carrier"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fields = readonly_fields = ("tracking_number", "label", "status", "service", "reference", "cost",
                                "currency", "pricing_basis", "weight_grams", "parcel_count", "estimated_delivery",
                                "created_at", "delivered_at", "origin_pretty", "destination_pretty")
    inlines = [ShipmentParcelInline, TrackingEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("label_pdf")  # the PDF is served by the label endpoint

    @admin.display(description="label")
    def label(self, obj: Shipment) -> SafeString:
        return label_link(obj)

    @admin.display(description="origin")
    def origin_pretty(self, obj: Shipment) -> SafeString:
        return json_pretty(obj.origin)

    @admin.display(description="destination")
    def destination_pretty(self, obj: Shipment) -> SafeString:
        return json_pretty(obj.destination)


@admin.register(ShipmentParcel)
class ShipmentParcelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["tracking_number", "shipment", "sequence", "weight_grams"]
    search_fields = ["tracking_number", "shipment__tracking_number"]
    list_select_related = ["shipment"]
    ordering = ["-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipment").defer("shipment__label_pdf")


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "shipment", "status", "location", "description", "received_at"]
    list_filter = ["status"]
    search_fields = ["shipment__tracking_number", "location", "description"]
    list_select_related = ["shipment"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipment").defer("shipment__label_pdf")
