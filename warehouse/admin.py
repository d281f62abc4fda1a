"""Warehouse admin: packages are made by the packing service (read-only here)."""

from __future__ import annotations

from django.contrib import admin

from omnichannel.admin import ReadOnlyAdminMixin
from warehouse.models import Package


@admin.register(Package)
class PackageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "reference", "location", "weight_grams", "length_cm", "width_cm", "height_cm",
                    "created_at"]
    list_filter = ["location"]
    search_fields = ["reference", "location__code"]
    list_select_related = ["location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
