"""`POST /api/v1/promise/`: the delivery options a checkout shows for a cart."""

from __future__ import annotations

import re
from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.errors import UnknownSku
from omnichannel.permissions import IsChannelOrStaff, Principal, principal_of
from orders.services.promise_service import PRICE_BASES, promise_options


class CartLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class PromiseIn(serializers.Serializer):
    cart = CartLineIn(many=True, allow_empty=False, max_length=100)
    latitude = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, default=None,
        help_text="Delivery address, or where the shopper is for pickup options. Without coordinates, ship "
                  "options are priced at the farthest zone (`price_basis`), and neither range-limited (same-day) "
                  "services nor pickups are offered: they need the distance.")
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    pickup_radius_km = serializers.FloatField(min_value=0.1, max_value=200, required=False, default=15.0)

    def validate(self, attrs):
        if (attrs["latitude"] is None) != (attrs["longitude"] is None):
            raise serializers.ValidationError({"longitude": "Give both latitude and longitude, or neither."})
        return attrs


class PromiseOptionOut(serializers.Serializer):
    id = serializers.CharField(help_text="Send it back as `promise_option` when placing the order.")
    kind = serializers.ChoiceField(choices=["ship", "same_day", "pickup"])
    label = serializers.CharField()
    service = serializers.CharField(allow_null=True)
    earliest = serializers.DateTimeField()
    latest = serializers.DateTimeField()
    cost = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    locations = serializers.ListField(child=serializers.CharField())
    distance_km = serializers.FloatField(allow_null=True, help_text="From the location; null without coordinates.")
    price_basis = serializers.ChoiceField(
        choices=list(PRICE_BASES), allow_null=True,
        help_text="What `cost` was worked out from: the distance, or, for an address without coordinates, the "
                  "farthest zone of the service's rate card (the most the carrier charges, and what it charges "
                  "then). Null for pickup.")


class PromiseOut(serializers.Serializer):
    options = PromiseOptionOut(many=True, help_text="Cheapest ship option first, then same-day, then pickups, "
                                                    "nearest first.")


class PromiseApi(APIView):
    """Ship (each carrier service), same-day and pickup options with dates and cost.
    A channel's token only sees the locations that feed the channel. An address without
    coordinates still gets ship options, priced as the carrier prices it (`price_basis`)."""

    permission_classes = [IsChannelOrStaff]

    @extend_schema(request=PromiseIn, responses={200: PromiseOut})
    def post(self, request):
        data = PromiseIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cart: dict[str, int] = {}
        first_lines: list[int] = []  # the request's index of each code's first line, in the cart's order
        for index, line in enumerate(values["cart"]):
            if line["sku"] not in cart:
                first_lines.append(index)
            cart[line["sku"]] = cart.get(line["sku"], 0) + line["quantity"]
        principal = cast(Principal, principal_of(request))  # IsChannelOrStaff: a principal
        try:  # a channel is promised only what its feeding locations can do (staff: every location)
            options = promise_options(cart=cart, lat=values["latitude"], lng=values["longitude"],
                                      pickup_radius_km=values["pickup_radius_km"],
                                      channel_id=principal.channel_id if principal.is_channel else None)
        except UnknownSku as exc:
            # `cart[i]` there counts distinct codes; the caller's cart may repeat one before it
            if (found := re.fullmatch(r"cart\[(\d+)\]\.sku", exc.field or "")) and int(found[1]) < len(first_lines):
                exc.field = f"cart[{first_lines[int(found[1])]}].sku"
            raise
        return Response({"options": PromiseOptionOut(options, many=True).data})
