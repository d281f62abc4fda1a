"""Ops API for routing: versioned rule sets (draft, simulate, activate), manual re-route."""

from __future__ import annotations

from typing import cast

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from omnichannel.parsers import JSON_ONLY
from omnichannel.permissions import IsOps, Principal, principal_of
from orders import selectors
from orders.models import RoutingRuleSet
from orders.services import rule_sets


class RuleSetOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", allow_null=True, default=None)

    class Meta:
        model = RoutingRuleSet
        fields = ["id", "channel", "version", "label", "status", "strategy", "rules", "ranking", "cost_model",
                  "max_shipments", "time_limit_ms", "note", "created_by", "created_at", "activated_at"]


class RuleSetIn(serializers.Serializer):
    channel = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    strategy = serializers.ChoiceField(choices=RoutingRuleSet.Strategy.choices, default="optimal")
    rules = serializers.ListField(child=serializers.CharField(max_length=20), required=False, allow_null=True,
                                  default=None)
    ranking = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    cost_model = serializers.DictField(child=serializers.FloatField(allow_null=True), required=False, default=dict)
    max_shipments = serializers.IntegerField(min_value=1, max_value=20, required=False, allow_null=True, default=None)
    time_limit_ms = serializers.IntegerField(min_value=5, max_value=10_000, required=False, default=200)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class SimulateIn(serializers.Serializer):
    last_n = serializers.IntegerField(min_value=1, max_value=rule_sets.SIMULATE_MAX_ORDERS, default=100)


class RuleSetListApi(generics.ListAPIView):
    permission_classes = [IsOps]
    parser_classes = JSON_ONLY  # a rule set's cost model nests
    serializer_class = RuleSetOut
    queryset = RoutingRuleSet.objects.select_related("channel")
    filterset_fields = ["status", "channel__code"]

    @extend_schema(request=RuleSetIn, responses={201: RuleSetOut})
    def post(self, request):
        data = RuleSetIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        channel_code = values.pop("channel")
        channel_id = None
        if channel_code:
            from channels_sync.models import (
                SalesChannel,  # channels_sync owns channels; ops names one by code
            )

            channel = SalesChannel.objects.filter(code=channel_code).first()
            if channel is None:
                raise serializers.ValidationError({"channel": f"Unknown channel {channel_code!r}."})
            channel_id = channel.pk
        with transaction.atomic():
            rule_set = rule_sets.ruleset_create_draft(
                channel_id=channel_id, actor=cast(Principal, principal_of(request)).actor, **values)
        return Response(RuleSetOut(rule_set).data, status=201)


class RuleSetSimulateApi(APIView):
    permission_classes = [IsOps]

    @extend_schema(request=SimulateIn, responses={200: dict})
    def post(self, request, pk: int):
        rule_set = get_object_or_404(RoutingRuleSet, pk=pk)
        data = SimulateIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(rule_sets.ruleset_simulate(rule_set, last_n=data.validated_data["last_n"]))


class RuleSetActivateApi(APIView):
    permission_classes = [IsOps]

    @extend_schema(request=None, responses=RuleSetOut)
    def post(self, request, pk: int):
        rule_set = get_object_or_404(RoutingRuleSet, pk=pk)
        with transaction.atomic():
            rule_sets.ruleset_activate(rule_set, actor=cast(Principal, principal_of(request)).actor)
        return Response(RuleSetOut(rule_set).data)


class OrderRerouteApi(APIView):
    """Ops: route again whatever of the order is not yet in a live fulfillment."""

    permission_classes = [IsOps]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request, number: str):
        from orders.services import order_route

        order = get_object_or_404(selectors.order_list(cast(Principal, principal_of(request))), number=number)
        with transaction.atomic():
            decision = order_route(order.pk, trigger="manual", actor=cast(Principal, principal_of(request)).actor)
        return Response({"order": number, "outcome": decision.outcome if decision else "nothing_to_route"})
