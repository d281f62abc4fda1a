"""Staff stock operations, transfers, stock CSV, checkout holds and POS sales.

Every view parses, opens the transaction, calls one `inventory.services` function and
renders. Scope: ops staff act at any location; floor staff only at their own (any other
location is a 404, as if it did not exist). Holds and POS sales are for channel tokens.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, parsers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors, services
from inventory.api import ops_serializers as s
from inventory.errors import InsufficientStock, Shortage, UnknownLocation, UnknownSku
from inventory.models import Location, Reservation, Sku, StockLevel, Transfer
from omnichannel.errors import ValidationFailed
from omnichannel.permissions import IsChannel, IsOps, IsPosChannel, IsStaff, Principal, principal_of

MAX_CSV_BYTES = 5 * 1024 * 1024


def _principal(request: Request) -> Principal:
    """The caller; the permission classes have already refused anyone without one."""
    principal = principal_of(request)
    assert principal is not None
    return principal


def _sku(code: str, field: str = "sku") -> Sku:
    sku = selectors.skus_by_code([code]).get(code)
    if sku is None:
        raise UnknownSku(f"Unknown SKU {code!r}.", field=field)
    return sku


def _location(code: str, principal: Principal | None = None, field: str = "location") -> Location:
    """The location by code; for floor staff (principal given) only their own."""
    location = Location.objects.filter(code=code).first()
    if location is None or (principal is not None and not principal.is_ops and location.pk != principal.location_id):
        raise UnknownLocation(f"No location {code!r}.", field=field)
    return location


def _stock_response(level: StockLevel, status: int = 200) -> Response:
    level = StockLevel.objects.select_related("sku", "location").get(pk=level.pk)
    return Response(s.StockLevelOut(level).data, status=status)


# --- stock operations at one stock level --------------------------------------------------------------


class StockOperationApi(APIView):
    """POST {sku, location, ...}: one operation at the stock level of that SKU and location."""

    permission_classes = [IsStaff]
    input_serializer: type[s.StockTargetIn] = s.StockTargetIn

    def post(self, request: Request) -> Response:
        principal = _principal(request)
        parsed = self.input_serializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        with transaction.atomic():
            location = _location(data["location"], principal)
            level = services.stock_level_ensure(_sku(data["sku"]), location)
            return self.perform(level, data, principal.actor)

    def perform(self, level: StockLevel, data: dict[str, Any], actor: str) -> Response:
        raise NotImplementedError


@extend_schema(request=s.ReceiveIn, responses=s.StockLevelOut, summary="Receive units (on_hand rises).")
class StockReceiveApi(StockOperationApi):
    input_serializer = s.ReceiveIn

    def perform(self, level, data, actor):
        level = services.stock_receive(sku=level.sku, location=level.location, quantity=data["quantity"],
                                       reference_type="receipt" if data["reference"] else "",
                                       reference_id=data["reference"], actor=actor, note=data["note"],
                                       into=data["into"])
        return _stock_response(level)


@extend_schema(request=s.AdjustIn, responses=s.StockLevelOut,
               summary="Adjust on_hand with a reason code (a decrease takes only available units).")
class StockAdjustApi(StockOperationApi):
    input_serializer = s.AdjustIn

    def perform(self, level, data, actor):
        return _stock_response(services.stock_adjust(stock_level=level, delta=data["delta"], reason=data["reason"],
                                                     actor=actor, note=data["note"]))


@extend_schema(request=s.MoveIn, responses=s.StockLevelOut,
               summary="Move units between available, damaged and quality_control, or write damaged/QC off.")
class StockMoveApi(StockOperationApi):
    input_serializer = s.MoveIn

    def perform(self, level, data, actor):
        reason = data["reason"] or f"to_{data['to_state']}"
        return _stock_response(services.stock_move_state(level, data["from_state"], data["to_state"],
                                                         data["quantity"], reason, actor=actor, note=data["note"]))


@extend_schema(request=s.CountIn, responses=s.CountOut,
               summary="Record a cycle count; reservations that no longer fit are released (newest first).")
class StockCountApi(StockOperationApi):
    input_serializer = s.CountIn

    def perform(self, level, data, actor):
        result = services.stock_count(level, data["counted"], actor=actor, note=data["note"],
                                      reference_id=data["reference"])
        return Response(s.CountOut(result).data)


@extend_schema(request=s.SetIn, responses=s.StockLevelOut,
               summary="Compare-and-set one quantity: 409 with `current` when it is no longer `expected`.")
class StockSetApi(StockOperationApi):
    input_serializer = s.SetIn

    def perform(self, level, data, actor):
        return _stock_response(services.stock_set(level, data["state"], expected=data["expected"],
                                                  value=data["value"], actor=actor, note=data["note"]))


# --- stock CSV -------------------------------------------------------------------------------------------


class CsvTextParser(parsers.BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        raw = stream.read(MAX_CSV_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_CSV_BYTES:
            raise ParseError("The file is larger than 5 MB.")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError("The file is not UTF-8 text.") from exc


class StockExportApi(APIView):
    """GET /stock/export.csv: every stock level (optionally one location or SKU) as CSV."""

    permission_classes = [IsOps]

    @extend_schema(parameters=[OpenApiParameter("location", OpenApiTypes.STR), OpenApiParameter("sku", OpenApiTypes.STR)],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, summary="Export stock levels as CSV.")
    def get(self, request: Request) -> HttpResponse:
        levels = StockLevel.objects.all()
        if request.query_params.get("location"):
            levels = levels.filter(location=_location(request.query_params["location"]))
        if request.query_params.get("sku"):
            levels = levels.filter(sku=_sku(request.query_params["sku"]))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="stock-{stamp}.csv"'
        services.stock_export(response, levels)  # type: ignore[arg-type]
        return response


class StockImportApi(APIView):
    """POST /stock/import/: a CSV as multipart `file` or as a text/csv body. All rows or none."""

    permission_classes = [IsOps]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, CsvTextParser]

    @extend_schema(request={"text/csv": OpenApiTypes.STR, "multipart/form-data": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        responses=s.ImportResultOut, summary="Import stock levels from CSV (every row validated first).")
    def post(self, request: Request) -> Response:
        text = self._text(request)
        with transaction.atomic():
            result = services.stock_import(text, actor=_principal(request).actor)
        return Response(s.ImportResultOut(result).data)

    @staticmethod
    def _text(request: Request) -> str:
        if isinstance(request.data, str):
            return request.data
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed("Send the CSV as a multipart field 'file' or as a text/csv body.", field="file")
        if upload.size > MAX_CSV_BYTES:
            raise ValidationFailed("The file is larger than 5 MB.", field="file")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("The file is not UTF-8 text.", field="file") from exc


# --- transfers ---------------------------------------------------------------------------------------------


def transfers_visible(principal: Principal) -> QuerySet[Transfer]:
    qs = Transfer.objects.select_related("source", "destination").prefetch_related("lines__sku")
    if principal.is_ops:
        return qs
    return qs.filter(Q(source_id=principal.location_id) | Q(destination_id=principal.location_id))


def _transfer_response(transfer: Transfer, status: int = 200) -> Response:
    transfer = Transfer.objects.select_related("source", "destination").prefetch_related("lines__sku").get(
        pk=transfer.pk)
    return Response(s.TransferOut(transfer).data, status=status)


def _quantities(lines: list[dict[str, Any]]) -> dict[str, int]:
    """{sku code: quantity}; barcodes are turned into codes, a SKU given twice is summed."""
    result: dict[str, int] = {}
    for index, line in enumerate(lines):
        code = _sku(line["sku"], field=f"lines[{index}].sku").code
        result[code] = result.get(code, 0) + line["quantity"]
    return result


class TransferListApi(generics.ListAPIView):
    """GET: transfers (floor staff: those from or to their location). POST: request a transfer."""

    permission_classes = [IsStaff]
    serializer_class = s.TransferOut
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is built without a caller
            return Transfer.objects.none()
        return transfers_visible(_principal(self.request)).order_by("-created_at", "-pk")

    @extend_schema(request=s.TransferIn, responses={201: s.TransferOut}, summary="Request a transfer.")
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        parsed = s.TransferIn(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        source, destination = _location(data["source"], field="source"), _location(data["destination"],
                                                                                  field="destination")
        if not principal.is_ops and principal.location_id not in (source.pk, destination.pk):
            raise UnknownLocation(f"No location {data['source']!r}.", field="source")
        lines = [services.TransferLineInput(_sku(line["sku"], field=f"lines[{i}].sku"), line["quantity"])
                 for i, line in enumerate(data["lines"])]
        with transaction.atomic():
            transfer = services.transfer_request(source, destination, lines, actor=principal.actor, note=data["note"])
        return _transfer_response(transfer, status=201)


class TransferDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.TransferOut
    lookup_field = "number"

    def get_queryset(self):
        return transfers_visible(_principal(self.request))


class TransferActionApi(APIView):
    """POST /transfers/{number}/{action}/; floor staff act at their end of the transfer only."""

    permission_classes = [IsStaff]
    input_serializer: type = s.TransferCancelIn
    end = "either"  # which location's floor staff may act: "source", "destination" or "either"

    def post(self, request: Request, number: str) -> Response:
        principal = _principal(request)
        parsed = self.input_serializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        qs = transfers_visible(principal)
        if not principal.is_ops and self.end != "either":
            qs = qs.filter(**{f"{self.end}_id": principal.location_id})
        with transaction.atomic():
            transfer = get_object_or_404(qs, number=number)
            transfer = self.perform(transfer, parsed.validated_data, principal.actor)
        return _transfer_response(transfer)

    def perform(self, transfer: Transfer, data: dict[str, Any], actor: str) -> Transfer:
        raise NotImplementedError


@extend_schema(request=s.TransferShipIn, responses=s.TransferOut,
               summary="Ship: units leave the source's on_hand and become incoming at the destination.")
class TransferShipApi(TransferActionApi):
    input_serializer = s.TransferShipIn
    end = "source"

    def perform(self, transfer, data, actor):
        return services.transfer_ship(transfer, actor=actor, shipped=_quantities(data["lines"]))


@extend_schema(request=s.TransferReceiveIn, responses=s.TransferOut,
               summary="Receive units (partial receipts allowed); close to record discrepancies.")
class TransferReceiveApi(TransferActionApi):
    input_serializer = s.TransferReceiveIn
    end = "destination"

    def perform(self, transfer, data, actor):
        return services.transfer_receive(transfer, _quantities(data["lines"]), close=data["close"], actor=actor,
                                         note=data["note"], into=data["into"])


@extend_schema(request=s.TransferCancelIn, responses=s.TransferOut, summary="Cancel a transfer not yet shipped.")
class TransferCancelApi(TransferActionApi):
    input_serializer = s.TransferCancelIn

    def perform(self, transfer, data, actor):
        return services.transfer_cancel(transfer, actor=actor, reason=data["reason"])


# --- checkout holds (channel tokens) ---------------------------------------------------------------------


def _holds_of(principal: Principal) -> QuerySet[Reservation]:
    return Reservation.objects.select_related("stock_level__sku", "stock_level__location").filter(
        reference_type=Reservation.HOLD, channel_code=principal.channel_code)


class HoldCreateApi(APIView):
    """POST /holds/: hold units for a cart for N minutes (released by DELETE or on expiry)."""

    permission_classes = [IsChannel]

    @extend_schema(request=s.HoldIn, responses={201: s.HoldOut}, summary="Hold stock for a checkout.")
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        parsed = s.HoldIn(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        sku, location = _sku(data["sku"]), _location(data["location"])
        with transaction.atomic():
            level = StockLevel.objects.filter(sku=sku, location=location).first()
            if level is None:
                raise InsufficientStock([Shortage(sku.code, data["quantity"], 0)])
            hold = services.hold_create(stock_level=level, quantity=data["quantity"], minutes=data["minutes"],
                                        reference_id=data["cart_id"], channel_code=principal.channel_code,
                                        actor=principal.actor)
        return Response(s.HoldOut(_holds_of(principal).get(pk=hold.pk)).data, status=201)


class HoldDetailApi(APIView):
    """GET or DELETE /holds/{id}/ — the caller's channel's holds only."""

    permission_classes = [IsChannel]

    @extend_schema(responses=s.HoldOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.HoldOut(get_object_or_404(_holds_of(_principal(request)), pk=pk)).data)

    @extend_schema(responses={204: None}, summary="Release a hold (idempotent).")
    def delete(self, request: Request, pk: int) -> Response:
        principal = _principal(request)
        with transaction.atomic():
            services.hold_release(pk, channel_code=principal.channel_code, actor=principal.actor)
        return Response(status=204)


# --- POS sales (channel tokens) ------------------------------------------------------------------------------


class PosSaleApi(APIView):
    """POST /pos/sales/: a till receipt at a store; its units leave that store's on_hand now.
    The same receipt_id again returns 200 and changes nothing."""

    permission_classes = [IsPosChannel]

    @extend_schema(request=s.PosSaleIn, responses={201: s.PosReceiptOut, 200: s.PosReceiptOut},
                   summary="Record a POS sale at a store.")
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        parsed = s.PosSaleIn(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        location = _location(data["location"])
        lines = [(_sku(line["sku"], field=f"lines[{i}].sku"), line["quantity"]) for i, line in enumerate(data["lines"])]
        with transaction.atomic():
            result = services.pos_sale(location, lines, data["receipt_id"], actor=principal.actor,
                                       channel_code=principal.channel_code)
        return Response(s.PosReceiptOut(result).data, status=201 if result.created else 200)
