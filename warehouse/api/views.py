"""Warehouse API: ops release waves and enter supplier notices; staff read pick lists of
their own location (another location's answers 404)."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors as inventory_selectors
from inventory.errors import UnknownSku
from inventory.models import Location
from omnichannel.permissions import IsOps, IsStaff, Principal, principal_of
from warehouse.api import serializers as s
from warehouse.models import PickList
from warehouse.services import picking, receiving


def _principal(request) -> Principal:
    principal = principal_of(request)
    assert principal is not None  # the permission class let only staff in
    return principal


def _location(code: str) -> Location:
    return get_object_or_404(Location, code=code, is_active=True)


class WaveCreateApi(APIView):
    permission_classes = [IsOps]

    @extend_schema(request=s.WaveIn, responses={201: s.WaveOut})
    def post(self, request):
        data = s.WaveIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        location = _location(values["location"])
        with transaction.atomic():
            wave = picking.wave_create(location, delivery_method=values["delivery_method"],
                                       cutoff_before=values["cutoff_before"], batch_size=values["batch_size"],
                                       actor=_principal(request).actor)
        return Response(s.WaveOut(wave).data, status=201)


class SupplierReceiptCreateApi(APIView):
    permission_classes = [IsOps]

    @extend_schema(request=s.SupplierReceiptIn, responses={201: s.ReceiptOut})
    def post(self, request):
        data = s.SupplierReceiptIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        location = _location(values["location"])
        skus = inventory_selectors.skus_by_code([line["sku"] for line in values["lines"]])
        missing = [line["sku"] for line in values["lines"] if line["sku"] not in skus]
        if missing:
            raise UnknownSku(f"Unknown SKU(s): {', '.join(missing)}.", field="lines")
        lines = [receiving.ExpectedLine(skus[line["sku"]], line["quantity"]) for line in values["lines"]]
        with transaction.atomic():
            receipt = receiving.receipt_create_supplier(location, supplier=values["supplier"],
                                                        reference=values["reference"], lines=lines,
                                                        actor=_principal(request).actor)
        return Response(s.ReceiptOut(receipt).data, status=201)


class PickListDetailApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=s.PickListOut)
    def get(self, request, pk: int):
        principal = _principal(request)
        qs = PickList.objects.all() if principal.is_ops else PickList.objects.filter(
            location_id=principal.location_id or 0)
        return Response(s.PickListOut(get_object_or_404(qs, pk=pk)).data)
