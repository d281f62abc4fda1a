"""Admin for the shared kernel, plus the small helpers every app's admin uses:
read-only admins and inlines, and JSON shown readably (everything escaped)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from omnichannel.models import IdempotencyRecord, OutboxEvent, StaffMember

EMPTY = "—"


class ReadOnlyAdminMixin:
    """Rows written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Declare `fields`; they are all shown read-only (non-editable ones included)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return list(dict.fromkeys([*(self.fields or ()), *super().get_readonly_fields(request, obj)]))


def json_compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def json_pretty(value: Any) -> SafeString:
    if value in (None, {}, []):
        return format_html("{}", EMPTY)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>',
                       json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {json_compact(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        return ", ".join(json_compact(v) for v in value) or EMPTY
    return EMPTY if value is None else str(value)


def json_table(rows: Any, columns: Iterable[str] | None = None) -> SafeString:
    """A list of JSON objects as a small HTML table (one column per key); anything else pretty-printed."""
    if not rows:
        return format_html("{}", EMPTY)
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        return json_pretty(rows)
    cols = list(columns) if columns is not None else list(dict.fromkeys(key for row in rows for key in row))
    head = format_html_join("", "<th>{}</th>", ((col,) for col in cols))
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((_cell(row.get(col)),) for col in cols)),) for row in rows))
    return format_html('<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "type", "aggregate_type", "aggregate_id", "created_at", "dispatched_at", "attempts",
                    "has_error"]
    list_filter = [("dispatched_at", admin.EmptyFieldListFilter), "type", "aggregate_type"]
    search_fields = ["type", "aggregate_id"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    fields = readonly_fields = ("type", "aggregate_type", "aggregate_id", "created_at", "dispatched_at",
                                "attempts", "last_error", "payload_pretty")

    @admin.display(boolean=True, description="error")
    def has_error(self, obj: OutboxEvent) -> bool:
        return bool(obj.last_error)

    @admin.display(description="payload")
    def payload_pretty(self, obj: OutboxEvent) -> SafeString:
        return json_pretty(obj.payload)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "key", "response_status", "created_at"]
    list_filter = ["scope", "response_status"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    fields = readonly_fields = ("scope", "key", "request_hash", "response_status", "created_at",
                                "body_pretty")

    @admin.display(description="response body")
    def body_pretty(self, obj: IdempotencyRecord) -> SafeString:
        return json_pretty(obj.response_body)


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "location"]
    list_filter = ["role", "location"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name", "location__code"]
    list_select_related = ["user", "location"]
    autocomplete_fields = ["user", "location"]
    ordering = ["role", "user__username"]
