from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from channels_sync.auth import ChannelSignatureAuthentication
from channels_sync.capture import inbound_archive, inbound_arrive, inbound_mark, order_capture
from channels_sync.models import InboundMessage, SalesChannel
from omnichannel.errors import ValidationFailed
from omnichannel.idempotency import MAX_KEY, key_problem
from omnichannel.jsonsafe import storable, unstorable
from omnichannel.parsers import JSON_ONLY
from omnichannel.permissions import IsChannel, IsChannelOrStaff, Principal, principal_of
from orders import selectors as order_selectors
from orders.api import fast_input
from orders.api import serializers as order_serializers
from orders.api.views import OrderFilter
from orders.models import Order


def _bad_key(key: str) -> tuple[str, str] | None:
    problem = key_problem(key)
    return ("Idempotency-Key", problem) if problem else None


class OrdersApi(generics.ListAPIView):
    """GET: the caller's orders. POST: a channel places an order (`Idempotency-Key` header)."""

    serializer_class = order_serializers.OrderSummaryOut
    filterset_class = OrderFilter
    parser_classes = JSON_ONLY  # an order's customer, address and lines nest

    def get_permissions(self):
        return [IsChannel()] if self.request.method == "POST" else [IsChannelOrStaff()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is built without a caller
            return Order.objects.none()
        return order_selectors.order_list(cast(Principal, principal_of(self.request))).order_by("-placed_at", "-pk")

    @extend_schema(
        request=order_serializers.OrderIn, responses={201: order_serializers.OrderOut, 200: order_serializers.OrderOut},
        parameters=[OpenApiParameter("Idempotency-Key", {"type": "string", "maxLength": MAX_KEY},
                                     OpenApiParameter.HEADER,
                                     description=f"Retries with the same key and body return the same order. At "
                                                 f"most {MAX_KEY} characters, no NUL.")])
    def post(self, request):
        return capture_response(request, key=request.headers.get("Idempotency-Key", "").strip(), source="api")


def capture_response(request, *, key: str, source: str) -> Response:
    """An order a channel sent (its token's API, or its signed webhook): archived first, then
    validated and placed once per key and per external id."""
    principal = cast(Principal, principal_of(request))  # IsChannel: a channel's principal
    channel = principal.channel or SalesChannel.objects.get(pk=cast(int, principal.channel_id))
    payload = request.data if isinstance(request.data, dict) else {"raw": request.data}
    problem = unstorable(payload) or _bad_key(key)
    if problem:  # archived (made storable) and refused: nothing else is written
        message = inbound_archive(channel, storable(payload), source=source, idempotency_key=storable(key))
        field, reason = problem
        inbound_mark(message.pk, InboundMessage.Status.REJECTED, result={"field": field, "reason": reason})
        raise ValidationFailed(f"{field}: {reason}", field=field)
    arrival = inbound_arrive(channel, payload, source=source, key=key)
    message = arrival.message
    data = fast_input.validated(request.data)  # the usual body; anything else is DRF's to judge
    if data is None:
        parsed = order_serializers.OrderIn(data=request.data)
        if not parsed.is_valid():
            inbound_mark(message.pk, InboundMessage.Status.REJECTED, result=parsed.errors)
            parsed.is_valid(raise_exception=True)
        data = parsed.validated_data

    def render(order):
        if "fulfillments" in getattr(order, "_prefetched_objects_cache", {}):
            order.channel = channel  # a fresh order from order_place: everything is in memory
            return order_serializers.order_out_fresh(order)
        order = order_selectors.order_detail_queryset(principal).get(pk=order.pk)
        return order_serializers.OrderOut(order).data

    result = order_capture(
        channel, order_serializers.order_input(data), raw=request.data, key=key, message=message, actor=principal.actor,
        render=render, arrival=arrival)
    return Response(result.body, status=result.status)


class OrderWebhookApi(generics.GenericAPIView):
    """A channel's platform pushes an order: `POST /api/v1/channels/{code}/webhook/orders/`,
    signed with the channel's webhook secret instead of a token (channels_sync.webhooks:
    `X-Omnichannel-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, at most
    5 minutes old). The body is the order as `POST /api/v1/orders/` takes it; the sender's
    delivery id (`X-Omnichannel-Delivery`, else `Idempotency-Key`) is the idempotency key, so
    a delivery sent again answers with the same order. An unsigned or wrongly signed request
    is refused (401) before anything is stored."""

    authentication_classes = [ChannelSignatureAuthentication]
    permission_classes = [IsChannel]
    parser_classes = JSON_ONLY
    serializer_class = order_serializers.OrderIn

    def initial(self, request, *args, **kwargs):
        request._request.body  # noqa: B018 - keep the raw bytes: the signature is over them, the parser reads them after
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=order_serializers.OrderIn, responses={201: order_serializers.OrderOut, 200: order_serializers.OrderOut},
        parameters=[
            OpenApiParameter("X-Omnichannel-Delivery", {"type": "string", "maxLength": MAX_KEY},
                             OpenApiParameter.HEADER,
                             description="The sender's delivery id: the idempotency key (else Idempotency-Key)."),
        ])
    def post(self, request, code: str):
        key = (request.headers.get("X-Omnichannel-Delivery") or request.headers.get("Idempotency-Key") or "").strip()
        return capture_response(request, key=key, source="webhook")
