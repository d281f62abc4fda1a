from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from omnichannel.api import DateTimeField
from omnichannel.permissions import IsOps
from transport import services
from transport.models import Shipment


class TrackingEventIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=["in_transit", "out_for_delivery", "delivered", "exception"])
    occurred_at = DateTimeField(required=False, allow_null=True, default=None)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class TrackingEventOut(serializers.Serializer):
    tracking_number = serializers.CharField(source="shipment.tracking_number")
    shipment_status = serializers.CharField(source="shipment.status")
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField()
    description = serializers.CharField()


class TrackingEventCreateApi(APIView):
    """A carrier scan for a shipment (from ops, or a carrier integration)."""

    permission_classes = [IsOps]

    @extend_schema(request=TrackingEventIn, responses={201: TrackingEventOut})
    def post(self, request, tracking_number: str):
        data = TrackingEventIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            event = services.tracking_event_record(tracking_number=tracking_number, **data.validated_data)
        event.shipment = Shipment.objects.get(pk=event.shipment_id)
        return Response(TrackingEventOut(event).data, status=201)
