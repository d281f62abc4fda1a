"""Inventory admin. Quantities are read-only here: they change only through
`inventory.services`, so the ledger and `check_inventory` stay true."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory import services
from inventory.errors import ImportRejected
from inventory.models import (
    AVAILABLE_UNITS,
    AdjustmentReason,
    Location,
    PosReceipt,
    Product,
    Reservation,
    Sku,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from omnichannel.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from omnichannel.errors import DomainError
from omnichannel.permissions import principal_for_user

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


# --- stock operations as admin actions: an intermediate form page, then one service call per row ----------


def _actor(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"


def _may_operate(request: HttpRequest) -> bool:
    principal = principal_for_user(request.user)
    return bool(principal and principal.is_ops)


class ReceiveForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000)
    note = forms.CharField(max_length=255, required=False)


class AdjustForm(forms.Form):
    delta = forms.IntegerField(min_value=-1_000_000, max_value=1_000_000, help_text="Units added (+) or removed (-).")
    reason = forms.ChoiceField(choices=AdjustmentReason.choices)
    note = forms.CharField(max_length=255, required=False)


class MoveForm(forms.Form):
    from_state = forms.ChoiceField(choices=[(s, s) for s in ("available", "damaged", "quality_control")])
    to_state = forms.ChoiceField(choices=[(s, s) for s in services.MOVE_STATES])
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000)
    reason = forms.RegexField(r"^[a-z][a-z0-9_]{0,31}$", required=False, help_text="A code; default to_<to_state>.")
    note = forms.CharField(max_length=255, required=False)


class CountForm(forms.Form):
    counted = forms.IntegerField(min_value=0, max_value=1_000_000,
                                 help_text="Every unit there (damaged and QC included), for each selected row.")
    note = forms.CharField(max_length=255, required=False)


class SafetyStockForm(forms.Form):
    safety_stock = forms.IntegerField(min_value=0, max_value=1_000_000)


class TransferRequestForm(forms.Form):
    destination = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True).order_by("code"))
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000, help_text="Units of each selected row.")


def run_operation(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, form_class: type[forms.Form],
                  title: str, apply: Callable[[Any, dict[str, Any], str], str]) -> TemplateResponse | None:
    """Show `form_class` for the selected rows; on submit call `apply(row, data, actor)` for each
    row in its own transaction (one row's error does not undo the others) and report."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            for obj in queryset.order_by("pk"):
                try:
                    with transaction.atomic():
                        done = apply(obj, form.cleaned_data, _actor(request))
                    modeladmin.message_user(request, f"{obj}: {done}", messages.SUCCESS)
                except DomainError as exc:
                    modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            return None
    else:
        form = form_class()
    context = {**modeladmin.admin_site.each_context(request), "title": title, "form": form, "objects": queryset,
               "action": request.POST.get("action", ""), "opts": modeladmin.model._meta,
               "selected": request.POST.getlist(ACTION_CHECKBOX_NAME)}
    return TemplateResponse(request, "admin/inventory/operation.html", context)


def _level_text(level: StockLevel) -> str:
    return (f"on hand {level.on_hand}, reserved {level.reserved}, damaged {level.damaged}, QC "
            f"{level.quality_control}, safety {level.safety_stock}, available {level.available}")


def _receive(level: StockLevel, data: dict[str, Any], actor: str) -> str:
    level = services.stock_receive(sku=level.sku, location=level.location, quantity=data["quantity"], actor=actor,
                                   note=data["note"])
    return f"received {data['quantity']}: {_level_text(level)}"


def _adjust(level: StockLevel, data: dict[str, Any], actor: str) -> str:
    level = services.stock_adjust(stock_level=level, delta=data["delta"], reason=data["reason"], actor=actor,
                                  note=data["note"])
    return f"adjusted {data['delta']:+d} ({data['reason']}): {_level_text(level)}"


def _move(level: StockLevel, data: dict[str, Any], actor: str) -> str:
    level = services.stock_move_state(level, data["from_state"], data["to_state"], data["quantity"],
                                      data["reason"] or f"to_{data['to_state']}", actor=actor, note=data["note"])
    return f"moved {data['quantity']} {data['from_state']} -> {data['to_state']}: {_level_text(level)}"


def _count(level: StockLevel, data: dict[str, Any], actor: str) -> str:
    result = services.stock_count(level, data["counted"], actor=actor, note=data["note"])
    released = f", released {len(result.released)} reservation(s) (orders re-route)" if result.released else ""
    return f"counted {data['counted']} ({result.delta:+d}){released}: {_level_text(result.stock_level)}"


def _safety_stock(level: StockLevel, data: dict[str, Any], actor: str) -> str:
    level = services.stock_set(level, "safety_stock", expected=level.safety_stock, value=data["safety_stock"],
                               actor=actor)
    return f"safety stock set: {_level_text(level)}"


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """View-only: saving the form would write back quantities read a moment earlier (a lost update).
    Quantities change through the actions (each calls an inventory service) and the CSV import."""

    list_display = ["sku", "location", "available", *QUANTITIES, "updated_at"]
    list_filter = ["location__kind", "location"]
    search_fields = ["sku__code", "sku__barcode", "sku__name", "location__code"]
    list_select_related = ["sku", "location"]
    ordering = ["sku__code", "location__code"]
    fields = readonly_fields = ("sku", "location", "available", *QUANTITIES, "reorder_point", "reorder_target",
                                "updated_at", "history")
    change_list_template = "admin/inventory/stocklevel/change_list.html"
    actions = ["receive", "adjust", "move_state", "count", "set_safety_stock", "request_transfer", "export_csv"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_quantity=AVAILABLE_UNITS)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request)

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

    @admin.action(description="Receive units…", permissions=["operate"])
    def receive(self, request, queryset):
        return run_operation(self, request, queryset, ReceiveForm, "Receive units", _receive)

    @admin.action(description="Adjust on hand with a reason…", permissions=["operate"])
    def adjust(self, request, queryset):
        return run_operation(self, request, queryset, AdjustForm, "Adjust on hand", _adjust)

    @admin.action(description="Move to damaged / quality control / back, or write off…", permissions=["operate"])
    def move_state(self, request, queryset):
        return run_operation(self, request, queryset, MoveForm, "Move units between states", _move)

    @admin.action(description="Record a cycle count…", permissions=["operate"])
    def count(self, request, queryset):
        return run_operation(self, request, queryset, CountForm, "Record a cycle count", _count)

    @admin.action(description="Set safety stock…", permissions=["operate"])
    def set_safety_stock(self, request, queryset):
        return run_operation(self, request, queryset, SafetyStockForm, "Set safety stock", _safety_stock)

    @admin.action(description="Request a transfer of the selected SKUs…", permissions=["operate"])
    def request_transfer(self, request, queryset):
        """One transfer per source location, one line per selected stock level."""
        by_source: dict[int, list[StockLevel]] = defaultdict(list)
        for level in queryset.select_related("sku").order_by("pk"):
            by_source[level.location_id].append(level)

        def apply(source: Location, data: dict[str, Any], actor: str) -> str:
            lines = [services.TransferLineInput(level.sku, data["quantity"]) for level in by_source[source.pk]]
            transfer = services.transfer_request(source, data["destination"], lines, actor=actor)
            return f"transfer {transfer.number} to {data['destination'].code} requested ({len(lines)} line(s))"

        rows = Location.objects.filter(pk__in=by_source) if "apply" in request.POST else queryset
        return run_operation(self, request, rows, TransferRequestForm, "Request a transfer", apply)

    @admin.action(description="Export the selected as CSV")
    def export_csv(self, request, queryset) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="stock-{timezone.now():%Y%m%d-%H%M}.csv"'
        services.stock_export(response, StockLevel.objects.filter(pk__in=queryset.values("pk")))  # type: ignore[arg-type]
        return response

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="inventory_stocklevel_import"),
                *super().get_urls()]

    def import_view(self, request: HttpRequest) -> TemplateResponse:
        """Upload a stock CSV: every row validated first; any bad row and nothing changes."""
        if not _may_operate(request):
            raise PermissionDenied
        form = StockImportForm(request.POST or None, request.FILES or None)
        errors: list[dict[str, Any]] = []
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    result = services.stock_import(form.cleaned_data["text"], actor=_actor(request))
                self.message_user(request, f"Imported {result.rows} row(s): {result.levels_changed} stock level(s) "
                                           f"changed, {result.levels_created} created, {result.movements} "
                                           f"movement(s) (batch {result.batch}).", messages.SUCCESS)
            except ImportRejected as exc:
                errors = [e.as_dict() for e in exc.errors]
                self.message_user(request, exc.detail, messages.ERROR)
        context = {**self.admin_site.each_context(request), "title": "Import stock levels from CSV", "form": form,
                   "errors": errors, "opts": self.model._meta, "columns": services.EXPORT_COLUMNS}
        return TemplateResponse(request, "admin/inventory/stock_import.html", context)


class StockImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header row: sku, location, then any of on_hand, "
                                     "safety_stock, damaged, quality_control, reorder_point, reorder_target.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > 5 * 1024 * 1024:
                raise forms.ValidationError("The file is larger than 5 MB.")
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The file is not UTF-8 text.") from exc
        return data


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
    list_display = ["pk", "sku", "location", "quantity", "status", "reference", "channel_code", "expires_at",
                    "created_at", "closed_at"]
    list_filter = ["status", "reference_type", "stock_level__location"]
    search_fields = ["stock_level__sku__code", "reference_id"]
    list_select_related = ["stock_level__sku", "stock_level__location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    actions = ["release_holds"]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request)

    @admin.action(description="Release the selected checkout holds", permissions=["operate"])
    def release_holds(self, request, queryset) -> None:
        """Only holds: an order's reservation is released by cancelling or re-routing the order."""
        holds = list(queryset.filter(reference_type=Reservation.HOLD, status=Reservation.Status.OPEN)
                     .values_list("pk", flat=True))
        with transaction.atomic():
            units = sum(services.hold_release(pk, actor=_actor(request)) for pk in holds)
        skipped = queryset.count() - len(holds)
        note = f"; {skipped} skipped (not open checkout holds)" if skipped else ""
        self.message_user(request, f"Released {len(holds)} hold(s), {units} unit(s){note}.")


class TransferLineInline(ReadOnlyTabularInline):
    model = TransferLine
    fields = ["sku", "quantity_requested", "quantity_shipped", "quantity_received", "discrepancy",
              "discrepancy_note"]
    show_change_link = False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Transfers are requested through the API or the stock level action "Request a transfer";
    they move on through these actions (each calls an inventory service)."""

    list_display = ["number", "status", "source", "destination", "line_count", "created_by", "created_at",
                    "shipped_at", "received_at"]
    list_filter = ["status", "source", "destination"]
    search_fields = ["number", "lines__sku__code"]
    list_select_related = ["source", "destination"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    fields = readonly_fields = ("number", "status", "source", "destination", "created_by", "note", "created_at",
                                "shipped_at", "received_at", "cancelled_at")
    inlines = [TransferLineInline]
    actions = ["ship", "receive_in_full", "cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lines_total=Count("lines"))

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request)

    @admin.display(description="lines", ordering="lines_total")
    def line_count(self, obj: Transfer) -> int:
        return getattr(obj, "lines_total", 0)

    def _each(self, request, queryset, apply: Callable[[Transfer, str], Transfer], verb: str) -> None:
        for transfer in queryset.order_by("pk"):
            try:
                with transaction.atomic():
                    done = apply(transfer, _actor(request))
                self.message_user(request, f"{done.number}: {verb}, now {done.status}.")
            except DomainError as exc:
                self.message_user(request, f"{transfer.number}: {exc.detail}", messages.ERROR)

    @admin.action(description="Ship the selected (every line in full)", permissions=["operate"])
    def ship(self, request, queryset) -> None:
        self._each(request, queryset, lambda t, actor: services.transfer_ship(t, actor=actor), "shipped")

    @admin.action(description="Receive everything still outstanding and close", permissions=["operate"])
    def receive_in_full(self, request, queryset) -> None:
        def apply(transfer: Transfer, actor: str) -> Transfer:
            outstanding = {line.sku.code: line.outstanding for line in transfer.lines.select_related("sku")}
            return services.transfer_receive(transfer, outstanding, close=True, actor=actor)

        self._each(request, queryset, apply, "received")

    @admin.action(description="Cancel the selected (not yet shipped)", permissions=["operate"])
    def cancel(self, request, queryset) -> None:
        self._each(request, queryset, lambda t, actor: services.transfer_cancel(t, actor=actor), "cancelled")


@admin.register(TransferLine)
class TransferLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["transfer", "sku", "quantity_requested", "quantity_shipped", "quantity_received", "discrepancy",
                    "discrepancy_note"]
    list_filter = ["transfer__status", "transfer__destination"]
    search_fields = ["transfer__number", "sku__code"]
    list_select_related = ["transfer", "sku"]
    ordering = ["-pk"]


@admin.register(PosReceipt)
class PosReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["receipt_id", "location", "channel_code", "units", "actor", "created_at"]
    list_filter = ["location", "channel_code"]
    search_fields = ["receipt_id", "location__code"]
    list_select_related = ["location"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    fields = readonly_fields = ("receipt_id", "location", "channel_code", "lines", "actor", "created_at")

    @admin.display(description="units")
    def units(self, obj: PosReceipt) -> int:
        return sum(int(line.get("quantity", 0)) for line in obj.lines)
