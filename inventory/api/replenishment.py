"""Replenishment for staff: which locations need stock, which hold too much, and transfers
that would fix both; and "create the transfer" from one suggestion.

Ops see the whole network (optionally one location or some SKUs); floor staff see their
own location only. inventory.engine.replenishment defines the maths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors
from inventory import services as inventory_services
from inventory.engine.replenishment import days_of_cover, excess_units, shortfall, velocity_per_day
from inventory.errors import UnknownSku
from inventory.models import Location, Sku
from inventory.selectors import ReplenishmentReport, ReplenishmentRow, ReplenishmentScope
from omnichannel.errors import ValidationFailed
from omnichannel.permissions import IsStaff, Principal, principal_of

DEFAULT_WINDOW_DAYS = 28
DEFAULT_EXCESS_DAYS = 90
DEFAULT_LIMIT = 200


def caller(request: Request) -> Principal:
    """The authenticated principal (the view's permission class has refused anyone else)."""
    principal = principal_of(request)
    if principal is None:
        raise NotAuthenticated()
    return principal


class ReplenishmentQueryIn(serializers.Serializer):
    window_days = serializers.IntegerField(required=False, default=DEFAULT_WINDOW_DAYS, min_value=1, max_value=365,
                                           help_text="Days of sales (ship, pickup, pos_sale) the velocity is taken over.")
    excess_days = serializers.IntegerField(required=False, default=DEFAULT_EXCESS_DAYS, min_value=1, max_value=3650,
                                           help_text="Days of cover above which a level holds excess.")
    location = serializers.CharField(required=False, max_length=32, help_text="Ops: only this location's rows.")
    sku = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=100)
    limit = serializers.IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=1000,
                                     help_text="At most this many needs and this many excess rows.")


class ReplenishmentNeedOut(serializers.Serializer):
    sku = serializers.CharField()
    location = serializers.CharField()
    available = serializers.IntegerField()
    incoming = serializers.IntegerField()
    reorder_point = serializers.IntegerField()
    reorder_target = serializers.IntegerField()
    units_sold = serializers.IntegerField()
    velocity_per_day = serializers.FloatField()
    days_of_cover = serializers.FloatField(allow_null=True, help_text="null: nothing sold in the window.")
    suggested_quantity = serializers.IntegerField(help_text="reorder_target - (available + incoming)")


class ReplenishmentExcessOut(ReplenishmentNeedOut):
    suggested_quantity = None
    excess_units = serializers.IntegerField(
        help_text="available - max(reorder_point, reorder_target, units for excess_days of cover)")


class ReplenishmentSuggestionOut(serializers.Serializer):
    sku = serializers.CharField()
    source = serializers.CharField()
    destination = serializers.CharField()
    quantity = serializers.IntegerField()
    source_reason = serializers.ChoiceField(["excess", "warehouse"])


class ReplenishmentOut(serializers.Serializer):
    window_days = serializers.IntegerField()
    excess_days = serializers.IntegerField()
    needs = ReplenishmentNeedOut(many=True)
    excess = ReplenishmentExcessOut(many=True)
    suggestions = ReplenishmentSuggestionOut(many=True)


def _scope_location(code: str | None, principal: Principal) -> int | None:
    """Floor staff: their own location (asking for another is refused). Ops: the one asked for, or all."""
    if principal.is_floor:
        own = Location.objects.filter(pk=principal.location_id or 0).values_list("code", flat=True).first()
        if code and code != own:
            raise PermissionDenied("Floor staff see their own location only.")
        return principal.location_id
    if not code:
        return None
    location_id = Location.objects.filter(code=code).values_list("pk", flat=True).first()
    if location_id is None:
        raise ValidationFailed(f"Unknown location {code!r}.", field="location", code="unknown_location")
    return location_id


def _scope_skus(codes: list[str] | None) -> set[int] | None:
    if not codes:
        return None
    refs = selectors.sku_refs_by_code(codes)
    for index, code in enumerate(codes):
        if code not in refs:
            raise UnknownSku(f"Unknown SKU {code!r}.", field=f"sku[{index}]")
    return {ref.pk for ref in refs.values()}


def _scope(data: dict[str, Any], principal: Principal) -> ReplenishmentScope:
    location_id = _scope_location(data.get("location"), principal)
    sku_ids = _scope_skus(data.get("sku"))
    return ReplenishmentScope(since=timezone.now() - dt.timedelta(days=data["window_days"]),
                              window_days=data["window_days"], threshold_days=data["excess_days"],
                              location_id=location_id, sku_ids=sku_ids, limit=data["limit"])


def _figures_out(row: ReplenishmentRow, scope: ReplenishmentScope) -> dict[str, Any]:
    f = row.figures
    cover = days_of_cover(f.available, f.units_sold, scope.window_days)
    return {"sku": row.sku_code, "location": row.location_code, "available": f.available, "incoming": f.incoming,
            "reorder_point": f.reorder_point, "reorder_target": f.reorder_target, "units_sold": f.units_sold,
            "velocity_per_day": round(velocity_per_day(f.units_sold, scope.window_days), 3),
            "days_of_cover": None if cover is None else round(cover, 1)}


def report_render(report: ReplenishmentReport, scope: ReplenishmentScope) -> dict[str, Any]:
    window, threshold = scope.window_days, scope.threshold_days
    return {
        "window_days": window, "excess_days": threshold,
        "needs": [{**_figures_out(r, scope), "suggested_quantity": shortfall(r.figures)} for r in report.needs],
        "excess": [{**_figures_out(r, scope), "excess_units": excess_units(r.figures, window, threshold)}
                   for r in report.excess],
        "suggestions": [{"sku": report.sku_codes[s.sku_id], "source": report.location_codes[s.source_location_id],
                         "destination": report.location_codes[s.destination_location_id], "quantity": s.quantity,
                         "source_reason": s.source_reason} for s in report.suggestions],
    }


class ReplenishmentApi(APIView):
    """Locations that need replenishment, locations with excess, and suggested transfers."""

    permission_classes = [IsStaff]

    @extend_schema(summary="Replenishment report (needs, excess, suggested transfers)",
                   parameters=[ReplenishmentQueryIn,
                               OpenApiParameter("sku", OpenApiTypes.STR, many=True, explode=True,
                                                description="Only these SKUs (code or barcode); repeatable.")],
                   responses=ReplenishmentOut)
    def get(self, request: Request) -> Response:
        params = {key: request.query_params[key] for key in ("window_days", "excess_days", "location", "limit")
                  if key in request.query_params}
        if "sku" in request.query_params:
            params["sku"] = request.query_params.getlist("sku")
        parsed = ReplenishmentQueryIn(data=params)
        parsed.is_valid(raise_exception=True)
        scope = _scope(parsed.validated_data, caller(request))
        return Response(report_render(selectors.replenishment_report(scope), scope))


# --- Create a transfer from a suggestion ------------------------------------------------------


class ReplenishmentTransferIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    source = serializers.CharField(max_length=32, help_text="Location code the units leave.")
    destination = serializers.CharField(max_length=32, help_text="Location code that needs them.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["source"] == attrs["destination"]:
            raise serializers.ValidationError({"destination": "Must differ from source."})
        return attrs


class ReplenishmentTransferOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()
    destination = serializers.CharField()
    lines = serializers.ListField(child=serializers.DictField())


def _location(code: str, field: str) -> Location:
    location = Location.objects.filter(code=code, is_active=True).first()
    if location is None:
        raise ValidationFailed(f"Unknown location {code!r}.", field=field, code="unknown_location")
    return location


def transfer_lines(sku: Sku, quantity: int) -> list[inventory_services.TransferLineInput]:
    """The `lines` argument of inventory.services.transfer_request."""
    return [inventory_services.TransferLineInput(sku=sku, quantity=quantity)]


class ReplenishmentTransferApi(APIView):
    """POST a suggestion (sku, source, destination, quantity): requests that transfer."""

    permission_classes = [IsStaff]

    @extend_schema(summary="Request a transfer from a replenishment suggestion",
                   request=ReplenishmentTransferIn, responses={201: ReplenishmentTransferOut})
    def post(self, request: Request) -> Response:
        principal = caller(request)
        parsed = ReplenishmentTransferIn(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        sku = selectors.skus_by_code([data["sku"]]).get(data["sku"])
        if sku is None:
            raise UnknownSku(f"Unknown SKU {data['sku']!r}.", field="sku")
        source, destination = _location(data["source"], "source"), _location(data["destination"], "destination")
        if principal.is_floor and destination.pk != principal.location_id:
            raise PermissionDenied("Floor staff request transfers into their own location only.")
        with transaction.atomic():
            transfer = inventory_services.transfer_request(source, destination, transfer_lines(sku, data["quantity"]),
                                                           actor=principal.actor)
        return Response({"id": transfer.pk, "number": transfer.number, "status": transfer.status,
                         "source": source.code, "destination": destination.code,
                         "lines": [{"sku": line.sku.code, "quantity": line.quantity_requested}
                                   for line in transfer.lines.select_related("sku")]}, status=201)
