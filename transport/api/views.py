from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from omnichannel.api import DateTimeField
from omnichannel.errors import ValidationFailed
from omnichannel.idempotency import key_problem
from omnichannel.permissions import IsOps
from transport import services
from transport.errors import TrackingEventIdReused
from transport.models import Shipment

RETRY_MINUTES = int(services.SCAN_RETRY_WINDOW.total_seconds() // 60)


class TrackingEventIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=["in_transit", "out_for_delivery", "delivered", "exception"])
    occurred_at = DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When the carrier scanned it. Without it the scan is stamped on arrival, and the same status, "
                  f"location and description again within {RETRY_MINUTES} minutes is taken for a retry of it.")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    event_id = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text="The carrier's own id for this scan, if it has one: a scan sent again with the same id is "
                  "recorded once, however late (the same id with another status is a 409).")


class TrackingEventOut(serializers.Serializer):
    tracking_number = serializers.CharField(source="shipment.tracking_number")
    shipment_status = serializers.ChoiceField(source="shipment.status", choices=Shipment.Status.choices)
    status = serializers.ChoiceField(choices=Shipment.Status.choices)
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField()
    description = serializers.CharField()


class TrackingEventCreateApi(APIView):
    """A carrier scan for a shipment (from ops, or a carrier integration)."""

    permission_classes = [IsOps]

    @extend_schema(
        request=TrackingEventIn, responses={201: TrackingEventOut},
        description=(
            "Record a carrier scan; the shipment only moves forward. Sending a scan again is safe: a retry is "
            "answered 201 with the event first recorded, and nothing changes or is notified twice. A retry is "
            "known by its `event_id`, else its `Idempotency-Key`, else its `occurred_at` (same status at the "
            "same instant), else, for a scan without a time, by the same status, location and description "
            f"within {RETRY_MINUTES} minutes of the first. The same status later on (a second delivery attempt) "
            "or with another time is a new scan."),
        parameters=[OpenApiParameter(
            "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
            description="Identifies the scan when the body has no `event_id`: a retry with the same key is "
                        "recorded once.")])
    def post(self, request, tracking_number: str):
        data = TrackingEventIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        event_id = fields.pop("event_id")
        key = request.headers.get("Idempotency-Key", "").strip()
        if problem := key_problem(key):
            raise ValidationFailed(f"Idempotency-Key: {problem}", field="Idempotency-Key")
        try:
            with transaction.atomic():
                event = services.tracking_event_record(tracking_number=tracking_number,
                                                       external_id=event_id or key, **fields)
        except TrackingEventIdReused as exc:
            exc.field = "event_id" if event_id else "Idempotency-Key"
            raise
        event.shipment = Shipment.objects.get(pk=event.shipment_id)
        return Response(TrackingEventOut(event).data, status=201)
