"""Storefront-facing availability: a SKU or a cart, per location, network and channel;
and "available at a store near you".

A channel token sees only the locations that feed its channel (none configured: every
active location), each reduced by the channel's buffer (inventory.engine.availability
defines the maths). Staff see the raw network and may pass `?channel=CODE` to see what
that channel sees. Reads take no locks and open no transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_sync.models import SalesChannel
from inventory import selectors as inventory_selectors
from inventory.engine.availability import ChannelBuffer, ChannelFeed, channel_totals, nearest_within, sku_view
from inventory.errors import UnknownSku
from inventory.selectors import LocationRef, SkuRef
from omnichannel.errors import ValidationFailed
from omnichannel.fastjson import json_response
from omnichannel.localcache import ProcessCache
from omnichannel.permissions import IsChannelOrStaff, Principal, principal_of

MAX_CART = 100
MAX_RADIUS_KM = 500.0
DEFAULT_RADIUS_KM = 25.0


class UnknownChannel(ValidationFailed):
    code = "unknown_channel"


def caller(request: Request) -> Principal:
    """The authenticated principal (the view's permission class has refused anyone else)."""
    principal = principal_of(request)
    if principal is None:
        raise NotAuthenticated()
    return principal


# --- Channel feeds (the channel's window on the network) ---------------------------------


@dataclass(frozen=True)
class _ChannelFeedRow:
    pk: int
    code: str
    is_active: bool
    feed: ChannelFeed


def _every_feed() -> list[_ChannelFeedRow]:
    """Every channel's feed, by code, in one query."""
    rows = (SalesChannel.objects.order_by("code", "pk")
            .values_list("pk", "code", "is_active", "buffer_units", "buffer_percent", "feeding_locations__id"))
    grouped: dict[int, tuple[str, bool, int, Any, set[int]]] = {}
    for pk, code, is_active, units, percent, location_id in rows:
        locations = grouped.setdefault(pk, (code, is_active, units, percent, set()))[4]
        if location_id is not None:
            locations.add(location_id)
    return [_ChannelFeedRow(pk, code, is_active,
                            ChannelFeed(code, ChannelBuffer.of(units, percent), frozenset(locations) or None))
            for pk, (code, is_active, units, percent, locations) in grouped.items()]


# Channels and their feeding locations change rarely and every availability read needs them: a
# per-process copy, reloaded every 5 s and at once when a channel or its feeds change here.
_FEEDS: ProcessCache[list[_ChannelFeedRow]] = ProcessCache(
    _every_feed, ttl=5.0, models=[SalesChannel], m2m=[SalesChannel.feeding_locations.through])


def feeding_location_ids(channel_id: int) -> frozenset[int] | None:
    """The channel's feeding locations (None: every active location), from the per-process
    copy: placement and routing ask for every order (`orders.services.selling`)."""
    return next((row.feed.location_ids for row in _FEEDS.get() if row.pk == channel_id), None)


def channel_feeds(*, pk: int | None = None, code: str | None = None, active_only: bool = False) -> list[ChannelFeed]:
    """Feeds of the channels with that pk or code (or every active one), by code."""

    def pick(rows: list[_ChannelFeedRow]) -> list[ChannelFeed]:
        return [row.feed for row in rows if (pk is None or row.pk == pk) and (code is None or row.code == code)
                and (row.is_active or not active_only)]

    found = pick(_FEEDS.get())
    if not found and (pk is not None or code is not None):  # newer than this process's copy?
        found = pick(_FEEDS.refresh())
    return found


def viewer_feeds(principal: Principal, channel_code: str | None) -> tuple[ChannelFeed | None, list[ChannelFeed]]:
    """(the feed the caller views through, or None for the raw network; the channels to total)."""
    if principal.is_channel:
        if channel_code and channel_code != principal.channel_code:
            raise PermissionDenied("A channel token sees only its own channel's availability.")
        feeds = channel_feeds(pk=principal.channel_id)
        return feeds[0], feeds
    if channel_code:
        feeds = channel_feeds(code=channel_code)
        if not feeds:
            raise UnknownChannel(f"Unknown channel {channel_code!r}.", field="channel")
        return feeds[0], feeds
    return None, channel_feeds(active_only=True)


# --- Input -------------------------------------------------------------------------------


class AvailabilityQueryIn(serializers.Serializer):
    sku = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_CART,
                                help_text="SKU code or barcode; repeat for a cart (at most 100).")
    channel = serializers.CharField(required=False, max_length=32,
                                    help_text="Staff only: see this channel's view instead of the network.")
    locations = serializers.BooleanField(required=False, default=True,
                                         help_text="false: totals only, no per-location lists (a cart check).")


class AvailabilityCartLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code or barcode.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)


class AvailabilityCartIn(serializers.Serializer):
    lines = serializers.ListField(child=AvailabilityCartLineIn(), min_length=1, max_length=MAX_CART)
    channel = serializers.CharField(required=False, max_length=32,
                                    help_text="Staff only: see this channel's view instead of the network.")
    locations = serializers.BooleanField(required=False, default=True,
                                         help_text="false: totals only, no per-location lists (a cart check).")


# --- Output (documentation of the rendered dicts) ------------------------------------------


class LocationAvailabilityOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    available = serializers.IntegerField()
    capabilities = serializers.ListField(child=serializers.ChoiceField(["ship", "pickup", "same_day", "returns"]))


class ChannelAvailabilityOut(serializers.Serializer):
    code = serializers.CharField()
    available = serializers.IntegerField()


class ItemAvailabilityOut(serializers.Serializer):
    sku = serializers.CharField(help_text="The SKU's code.")
    requested = serializers.CharField(help_text="The code or barcode as sent.")
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units asked for (1 unless a POSTed cart says otherwise).")
    available = serializers.IntegerField(help_text="Total in this view: the network, or the channel's.")
    is_available = serializers.BooleanField(help_text="available >= quantity")
    locations = LocationAvailabilityOut(many=True, required=False,
                                        help_text="Locations with units in this view, by code (left out with "
                                                  "locations=false).")
    channels = ChannelAvailabilityOut(many=True, help_text="Network view: every active channel's total. "
                                                           "Channel view: that channel's total.")


class AvailabilityOut(serializers.Serializer):
    view = serializers.ChoiceField(["network", "channel"])
    channel = serializers.CharField(allow_null=True)
    items = ItemAvailabilityOut(many=True)


# --- Rendering -----------------------------------------------------------------------------


def _location_out(location: LocationRef, available: int) -> dict[str, Any]:
    return {"code": location.code, "name": location.name, "kind": location.kind, "available": available,
            "capabilities": list(location.capabilities)}


def resolve_skus(codes: list[str], field: str) -> list[SkuRef]:
    """SKU refs in request order, or UnknownSku naming the first unknown entry (all in `unknown`)."""
    refs = inventory_selectors.sku_refs_by_code(codes)
    missing = [(index, code) for index, code in enumerate(codes) if code not in refs]
    if missing:
        index, code = missing[0]
        raise UnknownSku(f"Unknown SKU {code!r}.", field=field.format(index=index),
                         extra={"unknown": [c for _, c in missing]})
    return [refs[code] for code in codes]


def _merge_lines(refs: list[SkuRef], lines: list[tuple[str, int]]) -> dict[int, tuple[SkuRef, str, int]]:
    """sku_id -> (ref, the first code or barcode sent for it, total quantity), in request order."""
    wanted: dict[int, tuple[SkuRef, str, int]] = {}
    for ref, (code, quantity) in zip(refs, lines, strict=True):
        _, first_code, so_far = wanted.get(ref.pk, (ref, code, 0))
        wanted[ref.pk] = (ref, first_code, so_far + quantity)
    return wanted


def availability_render(lines: list[tuple[str, int]], field: str, principal: Principal,
                        channel_code: str | None, *, with_locations: bool = True) -> dict[str, Any]:
    """lines: (code or barcode as sent, quantity); lines naming the same SKU are merged.
    `field` names a line in errors (`sku[{index}]`). Reads only: no transaction, no locks."""
    feed, feeds = viewer_feeds(principal, channel_code)
    wanted = _merge_lines(resolve_skus([code for code, _ in lines], field), lines)
    cart = inventory_selectors.availability_for_cart(list(wanted), feed.location_ids if feed else None)
    # each location's fixed fields once; every item copies them with its units, in code order
    base = {pk: _location_out(location, 0) for pk, location in cart.locations.items()}
    rank = {pk: i for i, pk in enumerate(sorted(base, key=lambda pk: cart.locations[pk].code))}
    items = []
    for sku_id, (ref, code, quantity) in wanted.items():
        raw = cart.stock.get(sku_id, {})
        view = sku_view(raw, feed)
        total = sum(view.values())
        item: dict[str, Any] = {
            "sku": ref.code, "requested": code, "name": ref.name, "quantity": quantity, "available": total,
            "is_available": total >= quantity}
        if with_locations:
            item["locations"] = [{**base[pk], "available": units}
                                 for pk, units in sorted(view.items(), key=lambda entry: rank[entry[0]])]
        totals = {feed.code: total} if len(feeds) == 1 and feeds[0] is feed else channel_totals(raw, feeds)
        item["channels"] = [{"code": c, "available": n} for c, n in totals.items()]
        items.append(item)
    return {"view": "network" if feed is None else "channel", "channel": feed.code if feed else None,
            "items": items}


class AvailabilityApi(APIView):
    """Availability of one SKU or a cart (GET with repeated `sku`, or POST a cart with quantities)."""

    permission_classes = [IsChannelOrStaff]

    @extend_schema(
        summary="Availability of one SKU or a cart of up to 100",
        parameters=[
            OpenApiParameter("sku", OpenApiTypes.STR, many=True, required=True, explode=True,
                             description="SKU code or barcode; repeat for a cart (`?sku=A&sku=B`), at most 100."),
            OpenApiParameter("channel", OpenApiTypes.STR,
                             description="Staff only: a channel's code, to see that channel's view."),
            OpenApiParameter("locations", OpenApiTypes.BOOL, default=True,
                             description="false: totals only, no per-location lists (a cart check)."),
        ],
        responses=AvailabilityOut)
    def get(self, request: Request) -> Response:
        params = {key: request.query_params[key] for key in ("channel", "locations") if key in request.query_params}
        parsed = AvailabilityQueryIn(data={"sku": request.query_params.getlist("sku"), **params})
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        return json_response(availability_render([(code, 1) for code in data["sku"]], "sku[{index}]",
                                                 caller(request), data.get("channel"),
                                                 with_locations=data["locations"]))

    @extend_schema(summary="Availability of a cart with quantities (same answer as GET)", request=AvailabilityCartIn,
                   responses=AvailabilityOut)
    def post(self, request: Request) -> Response:
        parsed = AvailabilityCartIn(data=request.data)
        parsed.is_valid(raise_exception=True)
        data = parsed.validated_data
        lines = [(line["sku"], line["quantity"]) for line in data["lines"]]
        return json_response(availability_render(lines, "lines[{index}].sku", caller(request), data.get("channel"),
                                                 with_locations=data["locations"]))


# --- Nearby --------------------------------------------------------------------------------


class AvailabilityNearbyIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code or barcode.")
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
    postal_code = serializers.CharField(required=False, max_length=20,
                                        help_text="Instead of lat/lng: the postal code of a known location.")
    radius_km = serializers.FloatField(required=False, default=DEFAULT_RADIUS_KM, max_value=MAX_RADIUS_KM)
    quantity = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1_000_000)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    channel = serializers.CharField(required=False, max_length=32)

    def validate_radius_km(self, value: float) -> float:
        if not value > 0:  # also refuses NaN
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_lat, has_lng = "lat" in attrs, "lng" in attrs
        if has_lat != has_lng:
            missing = "lng" if has_lat else "lat"
            raise serializers.ValidationError({missing: "Give both lat and lng."})
        if has_lat and attrs.get("postal_code"):
            raise serializers.ValidationError({"postal_code": "Give lat/lng or postal_code, not both."})
        if not has_lat and not attrs.get("postal_code"):
            raise serializers.ValidationError({"lat": "Give lat and lng, or postal_code."})
        return attrs


class AvailabilityNearbyLocationOut(LocationAvailabilityOut):
    city = serializers.CharField()
    postal_code = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    distance_km = serializers.FloatField(help_text="Great-circle distance, 2 decimals.")


class AvailabilityNearbyOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    origin = serializers.DictField(help_text="latitude, longitude (and postal_code when given).")
    radius_km = serializers.FloatField()
    locations = AvailabilityNearbyLocationOut(many=True)


def _origin(data: dict[str, Any]) -> dict[str, Any]:
    if "lat" in data:
        return {"latitude": data["lat"], "longitude": data["lng"]}
    location = inventory_selectors.location_by_postal_code(data["postal_code"])
    if location is None:
        raise ValidationFailed(f"No known location has postal code {data['postal_code']!r}.", field="postal_code",
                               code="unknown_postal_code")
    return {"latitude": location.latitude, "longitude": location.longitude, "postal_code": location.postal_code}


def nearby_render(data: dict[str, Any], principal: Principal) -> dict[str, Any]:
    feed, _ = viewer_feeds(principal, data.get("channel"))
    ref = resolve_skus([data["sku"]], "sku")[0]
    origin = _origin(data)
    narrowed = feed.location_ids if feed is not None else None
    holding = {}
    for location, raw in inventory_selectors.pickup_stock(ref.pk, narrowed):
        units = feed.sellable(location.pk, raw) if feed is not None else raw
        if units >= data["quantity"]:
            holding[location.pk] = (location, units)
    near = nearest_within(((loc.pk, loc.latitude, loc.longitude) for loc, _ in holding.values()),
                          (origin["latitude"], origin["longitude"]), data["radius_km"])
    locations = []
    for hit in near[:data["limit"]]:
        location, units = holding[hit.location_id]
        locations.append({**_location_out(location, units), "city": location.city,
                          "postal_code": location.postal_code, "latitude": location.latitude,
                          "longitude": location.longitude, "distance_km": round(hit.distance_km, 2)})
    return {"sku": ref.code, "name": ref.name, "quantity": data["quantity"], "origin": origin,
            "radius_km": data["radius_km"], "locations": locations}


class AvailabilityNearbyApi(APIView):
    """Pickup locations near a point (or a known postal code) holding the SKU, nearest first."""

    permission_classes = [IsChannelOrStaff]

    @extend_schema(summary="Pickup locations near a point that hold the SKU, nearest first",
                   parameters=[AvailabilityNearbyIn], responses=AvailabilityNearbyOut)
    def get(self, request: Request) -> Response:
        parsed = AvailabilityNearbyIn(data=request.query_params)
        parsed.is_valid(raise_exception=True)
        return Response(nearby_render(parsed.validated_data, caller(request)))
