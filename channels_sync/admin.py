"""Channels admin. Tokens are issued by `manage.py api_token` (never here) and only a
short prefix of their hash is shown; inbound messages and webhooks are read-only."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.utils.safestring import SafeString

from channels_sync.models import ApiToken, InboundMessage, SalesChannel, WebhookDelivery
from omnichannel.admin import EMPTY, ReadOnlyAdminMixin, json_pretty


class SalesChannelForm(forms.ModelForm):
    webhook_secret = forms.CharField(
        required=False, max_length=128, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Shared secret for signing webhooks. Leave blank to keep the current one.")

    class Meta:
        model = SalesChannel
        fields = ["code", "name", "kind", "short_stock_policy", "webhook_url", "webhook_secret", "pickup_hold_days",
                  "feeding_locations", "buffer_units", "buffer_percent", "is_active"]

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data["webhook_secret"] or (self.instance.webhook_secret if self.instance.pk else "")

    def clean_buffer_percent(self) -> Decimal:
        percent = self.cleaned_data["buffer_percent"]
        if percent is not None and not Decimal(0) <= percent <= Decimal(100):
            raise forms.ValidationError("A percentage from 0 to 100.")
        return percent


@admin.register(SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):
    form = SalesChannelForm
    list_display = ["code", "name", "kind", "short_stock_policy", "pickup_hold_days", "has_webhook", "is_active"]
    list_filter = ["kind", "short_stock_policy", "is_active"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    filter_horizontal = ["feeding_locations"]

    @admin.display(boolean=True, description="webhook")
    def has_webhook(self, obj: SalesChannel) -> bool:
        return bool(obj.webhook_url)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "prefix", "is_active", "created_at"]
    list_filter = ["is_active", "channel"]
    search_fields = ["name", "prefix", "channel__code", "user__username"]
    list_select_related = ["channel", "user"]
    ordering = ["-created_at"]
    fields = ["name", "channel", "user", "prefix", "hash_hint", "is_active", "created_at"]
    readonly_fields = ["channel", "user", "prefix", "hash_hint", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py api_token --channel CODE | --user USERNAME`

    @admin.display(description="owner")
    def owner(self, obj: ApiToken) -> str:
        if obj.channel is not None:
            return f"channel {obj.channel.code}"
        return f"user {obj.user.get_username()}" if obj.user is not None else EMPTY

    @admin.display(description="key hash")
    def hash_hint(self, obj: ApiToken) -> str:
        return f"{obj.key_hash[:8]}…"


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "channel", "source", "kind", "external_id", "status", "order_number",
                    "processed_at"]
    list_filter = ["status", "channel", "source", "kind"]
    search_fields = ["external_id", "order_number", "idempotency_key"]
    list_select_related = ["channel"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-pk"]
    fields = readonly_fields = ("channel", "source", "kind", "external_id", "idempotency_key", "status",
                                "order_number", "received_at", "processed_at", "payload_pretty",
                                "result_pretty")

    @admin.display(description="payload")
    def payload_pretty(self, obj: InboundMessage) -> SafeString:
        return json_pretty(obj.payload)

    @admin.display(description="result")
    def result_pretty(self, obj: InboundMessage) -> SafeString:
        return json_pretty(obj.result)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "channel", "event", "url", "status", "attempts", "last_status_code",
                    "delivered_at", "claimed_at"]
    list_filter = ["status", "channel"]
    search_fields = ["url", "event__type", "event__aggregate_id"]
    list_select_related = ["channel", "event"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
