"""Orders admin: the order page shows its lines, fulfillments, routing decisions and
timeline. Orders change only through `orders.services`, so everything here is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.models import Location, Sku
from omnichannel.admin import EMPTY, ReadOnlyAdminMixin, ReadOnlyTabularInline, json_pretty, json_table
from orders.models import (
    Allocation,
    Customer,
    CustomerNotification,
    Fulfillment,
    LocationDayLoad,
    Order,
    OrderEvent,
    OrderLine,
    RoutingDecision,
    RoutingRuleSet,
)
from transport.admin import label_link


def with_codes(rows: Any) -> Any:
    """Router rows with `location_id`/`sku_id` (and `stock` keyed by SKU id) shown as their codes."""
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return rows
    location_ids = {row["location_id"] for row in rows if isinstance(row.get("location_id"), int)}
    sku_ids = {row["sku_id"] for row in rows if isinstance(row.get("sku_id"), int)}
    for row in rows:
        if isinstance(row.get("stock"), dict):
            sku_ids.update(int(key) for key in row["stock"] if str(key).isdigit())
    locations = dict(Location.objects.filter(pk__in=location_ids).values_list("pk", "code")) if location_ids else {}
    skus = dict(Sku.objects.filter(pk__in=sku_ids).values_list("pk", "code")) if sku_ids else {}
    shown = []
    for row in rows:
        named: dict[str, Any] = {}
        for key, value in row.items():
            if key == "location_id":
                named["location"] = locations.get(value, value)
            elif key == "sku_id":
                named["sku"] = skus.get(value, value)
            elif key == "stock" and isinstance(value, dict):
                named[key] = {skus.get(int(k), k) if str(k).isdigit() else k: v for k, v in value.items()}
            else:
                named[key] = value
        shown.append(named)
    return shown


class _RoutingDisplay:
    @admin.display(description="plan")
    def plan_table(self, obj: RoutingDecision) -> SafeString:
        return json_table(with_codes(obj.plan))

    @admin.display(description="candidates")
    def candidates_table(self, obj: RoutingDecision) -> SafeString:
        return json_table(with_codes(obj.candidates))

    @admin.display(description="cost")
    def cost_pretty(self, obj: RoutingDecision) -> SafeString:
        return json_pretty(obj.cost)


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = ["line_number", "sku", "quantity", "backordered_quantity", "unit_price"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")


class FulfillmentInline(ReadOnlyTabularInline):
    model = Fulfillment
    fields = ["number", "location", "status", "carrier_service", "shipment", "label", "rejection_reason",
              "created_at", "updated_at"]
    readonly_fields = ["label"]

    def get_queryset(self, request):
        return (super().get_queryset(request).select_related("location", "carrier_service__carrier", "shipment")
                .defer("shipment__label_pdf"))

    @admin.display(description="label")
    def label(self, obj: Fulfillment) -> SafeString:
        return label_link(obj.shipment) if obj.shipment is not None else format_html("{}", EMPTY)


class RoutingDecisionInline(_RoutingDisplay, ReadOnlyTabularInline):
    model = RoutingDecision
    fields = ["created_at", "trigger", "strategy", "outcome", "solver_status", "duration_ms",
              "excluded_locations", "plan_table", "candidates_table", "cost_pretty"]
    readonly_fields = ["plan_table", "candidates_table", "cost_pretty"]


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    verbose_name_plural = "timeline"
    fields = ["created_at", "type", "status_from", "status_to", "fulfillment", "actor", "message", "payload_pretty"]
    readonly_fields = ["payload_pretty"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("fulfillment")

    @admin.display(description="payload")
    def payload_pretty(self, obj: OrderEvent) -> SafeString:
        return json_pretty(obj.payload)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """`contact_*` is what the order was placed with (what its channel sees, where its emails
    go); `customer` is the unified record across channels, which may hold more."""

    list_display = ["number", "placed_at", "channel", "contact", "customer", "status", "delivery_method",
                    "destination", "total_amount", "currency"]
    list_filter = ["status", "channel", "delivery_method"]
    search_fields = ["number", "external_id", "contact_email", "contact_phone", "contact_name", "customer__email",
                     "customer__phone", "customer__name", "ship_postal_code"]
    list_select_related = ["channel", "customer", "pickup_location"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-pk"]
    fieldsets = [
        (None, {"fields": ["number", "status", "channel", "external_id", "placed_at", "updated_at"]}),
        ("Contact", {"fields": ["contact_name", "contact_email", "contact_phone", "customer"],
                     "description": "As given with this order. The customer is the one record for this person "
                                    "across channels, matched on email or phone."}),
        ("Delivery", {"fields": ["delivery_method", "pickup_location", "ship_name", "ship_line1", "ship_line2",
                                 "ship_postal_code", "ship_city", "ship_country", "ship_phone",
                                 ("ship_latitude", "ship_longitude")]}),
        ("Amount", {"fields": ["total_amount", "currency"]}),
    ]
    inlines = [OrderLineInline, FulfillmentInline, RoutingDecisionInline, OrderEventInline]

    @admin.display(description="contact", ordering="contact_name")
    def contact(self, obj: Order) -> str:
        return obj.contact_name or obj.contact_email or obj.contact_phone

    @admin.display(description="to")
    def destination(self, obj: Order) -> str:
        if obj.pickup_location is not None:
            return f"pickup {obj.pickup_location.code}"
        return " ".join(part for part in (obj.ship_postal_code, obj.ship_city) if part)


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "line_number", "sku", "quantity", "backordered_quantity", "unit_price"]
    search_fields = ["order__number", "sku__code"]
    list_select_related = ["order", "sku"]
    ordering = ["-order__placed_at", "line_number"]


class AllocationInline(ReadOnlyTabularInline):
    model = Allocation
    fields = ["order_line", "location", "quantity", "reservation", "is_active", "created_at"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line__sku", "location", "reservation")


@admin.register(Fulfillment)
class FulfillmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "order", "location", "status", "carrier_service", "shipment", "created_at",
                    "updated_at"]
    list_filter = ["status", "location__kind", "location"]
    search_fields = ["number", "order__number", "shipment__tracking_number"]
    list_select_related = ["order", "location", "carrier_service__carrier", "shipment"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    fields = readonly_fields = ("number", "order", "location", "status", "carrier_service", "shipment",
                                "label", "rejection_reason", "rejection_note", "created_at", "updated_at")
    inlines = [AllocationInline]

    def get_queryset(self, request):
        # Select the list's relations here: the change list adds list_select_related only to
        # a queryset that selects none yet (else 2 queries per row).
        return (super().get_queryset(request).select_related(*self.list_select_related)
                .defer("shipment__label_pdf"))

    @admin.display(description="label")
    def label(self, obj: Fulfillment) -> SafeString:
        return label_link(obj.shipment) if obj.shipment is not None else format_html("{}", EMPTY)


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "order_line", "location", "quantity", "fulfillment", "is_active", "created_at"]
    list_filter = ["is_active", "location"]
    search_fields = ["order_line__order__number", "fulfillment__number"]
    list_select_related = ["order_line", "location", "fulfillment"]
    ordering = ["-pk"]


@admin.register(LocationDayLoad)
class LocationDayLoadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The daily-capacity counters (one location's day is the sum of its shards)."""

    list_display = ["day", "location", "shard", "fulfillments"]
    list_filter = ["day", "location"]
    list_select_related = ["location"]
    ordering = ["-day", "location", "shard"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "type", "status_from", "status_to", "fulfillment", "actor", "message"]
    list_filter = ["type"]
    search_fields = ["order__number", "type", "actor", "message"]
    list_select_related = ["order", "fulfillment"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    fields = readonly_fields = ("order", "fulfillment", "type", "status_from", "status_to", "actor",
                                "message", "created_at", "payload_pretty")

    @admin.display(description="payload")
    def payload_pretty(self, obj: OrderEvent) -> SafeString:
        return json_pretty(obj.payload)


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(_RoutingDisplay, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "trigger", "strategy", "outcome", "solver_status", "duration_ms"]
    list_filter = ["outcome", "strategy", "trigger"]
    search_fields = ["order__number"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    fields = readonly_fields = ("order", "created_at", "trigger", "strategy", "rule_set_version", "outcome",
                                "solver_status", "duration_ms", "excluded_locations", "inputs_pretty",
                                "plan_table", "candidates_table", "cost_pretty")

    @admin.display(description="inputs")
    def inputs_pretty(self, obj: RoutingDecision) -> SafeString:
        return json_pretty(obj.inputs)


class CustomerOrderInline(ReadOnlyTabularInline):
    """The customer's orders on every channel, each with the contact it was placed with."""

    model = Order
    fields = ["number", "placed_at", "channel", "status", "contact_name", "contact_email", "contact_phone",
              "total_amount", "currency"]
    ordering = ["-placed_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """One person across every channel (`orders.customers.customer_match`): for ops. An order
    shows its channel the contact it was placed with, not this record."""

    list_display = ["name", "email", "phone", "created_at"]
    search_fields = ["name", "email", "phone"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = ["created_at"]
    inlines = [CustomerOrderInline]

    def has_add_permission(self, request) -> bool:
        return False  # customers are matched or created when an order is captured

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomerNotification)
class CustomerNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "kind", "medium", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "medium", "kind"]
    search_fields = ["order__number", "recipient", "subject"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]


@admin.register(RoutingRuleSet)
class RoutingRuleSetAdmin(admin.ModelAdmin):
    """Drafts are edited here; activation and simulation go through the services."""

    list_display = ["__str__", "channel", "version", "status", "strategy", "rules", "max_shipments", "activated_at"]
    list_filter = ["status", "strategy", "channel"]
    list_select_related = ["channel"]
    ordering = ["channel", "-version"]
    readonly_fields = ["version", "status", "created_by", "created_at", "activated_at"]
    actions = ["activate", "simulate"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Active and retired versions are history: only drafts are edited.
        return super().has_change_permission(request, obj) and (obj is None or obj.status == "draft")

    def save_model(self, request, obj, form, change) -> None:
        from django.db import transaction

        from orders.services import rule_sets

        if change:
            rule_sets.ruleset_validate(strategy=obj.strategy, rules=obj.rules, cost_model=obj.cost_model)
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            created = rule_sets.ruleset_create_draft(
                channel_id=obj.channel_id, actor=f"admin:{request.user.username}", strategy=obj.strategy,
                rules=obj.rules, ranking=obj.ranking, cost_model=obj.cost_model, max_shipments=obj.max_shipments,
                time_limit_ms=obj.time_limit_ms, note=obj.note)
        obj.pk, obj.version = created.pk, created.version

    @admin.action(description="Activate the selected draft")
    def activate(self, request, queryset) -> None:
        from django.db import transaction

        from omnichannel.errors import DomainError
        from orders.services import rule_sets

        for rule_set in queryset:
            try:
                with transaction.atomic():
                    rule_sets.ruleset_activate(rule_set, actor=f"admin:{request.user.username}")
                self.message_user(request, f"{rule_set.label} is now active.")
            except DomainError as exc:
                self.message_user(request, f"{rule_set.label}: {exc.detail}", level="error")

    @admin.action(description="Simulate against the last 100 orders (vs active)")
    def simulate(self, request, queryset) -> None:
        from orders.services import rule_sets

        for rule_set in queryset:
            report = rule_sets.ruleset_simulate(rule_set, last_n=100)
            d, a = report["draft_metrics"], report["active_metrics"]
            self.message_user(request, (
                f"{report['draft']} vs {report['active']} over {report['orders']} orders: "
                f"cost {d['total_cost']} vs {a['total_cost']}, shipments/order {d['shipments_per_order']} vs "
                f"{a['shipments_per_order']}, km/unit {d['avg_km_per_unit']} vs {a['avg_km_per_unit']}, "
                f"late {d['late_orders']} vs {a['late_orders']}, unfilled {d['unfilled_units']} vs "
                f"{a['unfilled_units']}"))
