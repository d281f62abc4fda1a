"""Orders API: read and cancel orders (channel-scoped), act on fulfillments (staff)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from omnichannel.api import IsoDateTimeFilter
from omnichannel.parsers import JSON_ONLY
from omnichannel.permissions import IsChannelOrStaff, IsStaff, Principal, principal_of
from orders import selectors, services
from orders.api import serializers as s
from orders.models import Fulfillment, Order

if TYPE_CHECKING:
    from transport.models import Shipment


class OrderFilter(filters.FilterSet):
    placed_after = IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["status", "delivery_method", "external_id"]


class OrderListApi(generics.ListAPIView):
    permission_classes = [IsChannelOrStaff]
    serializer_class = s.OrderSummaryOut
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is built without a caller
            return Order.objects.none()
        return selectors.order_list(cast(Principal, principal_of(self.request))).order_by("-placed_at", "-pk")


class OrderDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsChannelOrStaff]
    serializer_class = s.OrderOut
    lookup_field = "number"

    def get_queryset(self):
        return selectors.order_detail_queryset(cast(Principal, principal_of(self.request)))


def order_response(principal, number: str, status: int = 200, *, history: bool = False) -> Response:
    order = get_object_or_404(selectors.order_detail_queryset(principal, history=history), number=number)
    return Response(s.OrderOut(order).data, status=status)


class OrderCancelApi(APIView):
    permission_classes = [IsChannelOrStaff]

    @extend_schema(request=s.CancelIn, responses=s.OrderOut)
    def post(self, request, number: str):
        principal = cast(Principal, principal_of(request))
        data = s.CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            # Visible to the caller? (Checked apart from the lock: the list's outer joins cannot be locked.)
            get_object_or_404(selectors.order_list(principal), number=number)
            order = Order.objects.select_for_update().get(number=number)
            services.order_cancel(order, actor=principal.actor, reason=data.validated_data["reason"])
        # Floor staff's part of it is cancelled now, so the order leaves their list; they are
        # still answered with what they just did.
        return order_response(principal, number, history=True)


class FulfillmentListApi(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.FulfillmentDetailOut
    filterset_fields = ["status", "location__code"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is built without a caller
            return Fulfillment.objects.none()
        return selectors.fulfillment_list(cast(Principal, principal_of(self.request))).prefetch_related(
            "allocations__order_line__sku", "shipment__service__carrier").order_by("created_at", "pk")


class FulfillmentDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.FulfillmentDetailOut

    def get_queryset(self):
        return selectors.fulfillment_list(cast(Principal, principal_of(self.request))).prefetch_related(
            "allocations__order_line__sku", "shipment__service__carrier")


class FulfillmentActionApi(APIView):
    """POST /fulfillments/{id}/{action}/ — one state transition of a fulfillment at a location."""

    permission_classes = [IsStaff]
    input_serializer: type | None = None
    action_name = ""

    def perform(self, fulfillment: Fulfillment, data: dict, actor: str) -> None:
        raise NotImplementedError

    def post(self, request, pk: int):
        principal = cast(Principal, principal_of(request))
        data = {}
        if self.input_serializer is not None:
            parsed = self.input_serializer(data=request.data)
            parsed.is_valid(raise_exception=True)
            data = parsed.validated_data
        visible = selectors.fulfillment_list(principal).filter(pk=pk)
        get_object_or_404(visible)
        self.run(pk, data, principal.actor)
        fulfillment = selectors.fulfillment_list(principal).prefetch_related(
            "allocations__order_line__sku", "shipment__service__carrier").get(pk=pk)
        return Response(s.FulfillmentDetailOut(fulfillment).data)

    def run(self, pk: int, data: dict, actor: str) -> None:
        with transaction.atomic():
            self.perform(services.fulfillment_lock(pk), data, actor)


# Actions whose input nests (a pack's packages, a reject's counts): JSON only, a form would drop them.
NESTED_INPUT = {"pack", "reject"}


def _action(name: str, fn, serializer=None, doc: str = ""):
    def perform(self, fulfillment, data, actor):
        fn(fulfillment, data, actor)

    attrs = {"perform": perform, "input_serializer": serializer, "action_name": name, "__doc__": doc}
    if name in NESTED_INPUT:
        attrs["parser_classes"] = JSON_ONLY
    view = type(f"Fulfillment{name.title().replace('-', '')}Api", (FulfillmentActionApi,), attrs)
    return extend_schema(request=serializer, responses=s.FulfillmentDetailOut, summary=doc)(view)


FulfillmentAcceptApi = _action("accept", lambda f, d, a: services.fulfillment_accept(f, actor=a),
                               doc="Accept: the location will fulfil it.")
FulfillmentRejectApi = _action("reject", lambda f, d, a: services.fulfillment_reject(
    f, reason=d["reason"], note=d["note"], actor=a, counts=d["counts"]), s.RejectIn,
    doc="Reject with a reason; the units are routed again without this location.")
FulfillmentStartPickingApi = _action("start-picking", lambda f, d, a: services.fulfillment_start_picking(f, actor=a),
                                     doc="Start picking: the customer hears 'being prepared'.")
FulfillmentPickedApi = _action("picked", lambda f, d, a: services.fulfillment_mark_picked(f, actor=a),
                               doc="Every unit is picked.")
FulfillmentPackApi = _action("pack", lambda f, d, a: services.fulfillment_pack(
    f, packages=[services.PackageInput(**p) for p in d["packages"]], actor=a), s.PackIn,
    doc="Pack into one or more weighed packages (each within what a carrier service takes); packing again "
        "while packed replaces the packages, to correct a weight.")
FulfillmentShipApi = _action("ship", lambda f, d, a: services.fulfillment_ship(
    f, actor=a, service_code=d.get("service_code")), s.ShipIn,
    doc="Book the carrier (tracking number + label) and commit the stock.")
FulfillmentReadyForPickupApi = _action("ready-for-pickup",
                                       lambda f, d, a: services.fulfillment_ready_for_pickup(f, actor=a),
                                       doc="Ready for pickup: the customer gets a pickup code.")


@extend_schema(request=s.CollectIn, responses=s.FulfillmentDetailOut, summary="Hand over after checking the code.")
class FulfillmentCollectApi(FulfillmentActionApi):
    input_serializer = s.CollectIn
    action_name = "collect"

    def run(self, pk: int, data: dict, actor: str) -> None:
        services.fulfillment_collect(pk, code=data["code"], actor=actor)


class ShipmentLabelApi(APIView):
    """The shipment's PDF label, for staff of the shipping location (or ops)."""

    permission_classes = [IsStaff]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, tracking_number: str):
        from django.http import HttpResponse

        fulfillment = get_object_or_404(selectors.fulfillment_list(cast(Principal, principal_of(request))).select_related("shipment"),
                                        shipment__tracking_number=tracking_number)
        response = HttpResponse(bytes(cast("Shipment", fulfillment.shipment).label_pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="label-{tracking_number}.pdf"'
        return response
