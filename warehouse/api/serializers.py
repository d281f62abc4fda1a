from __future__ import annotations

from rest_framework import serializers

from omnichannel.timeofday import TimeOfDaySerializerField
from warehouse.services.receiving import MAX_UNITS


class WaveIn(serializers.Serializer):
    location = serializers.CharField(help_text="Location code.")
    delivery_method = serializers.ChoiceField(choices=["", "ship", "pickup", "same_day"], required=False, default="")
    cutoff_before = TimeOfDaySerializerField(required=False, allow_null=True, default=None,
                                             help_text="Carrier cutoff at or before: HH:MM, HH.MM or HH:MM:SS.")
    batch_size = serializers.IntegerField(required=False, default=6, min_value=1, max_value=20)


class ExpectedLineIn(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)


class SupplierReceiptIn(serializers.Serializer):
    location = serializers.CharField()
    supplier = serializers.CharField(max_length=100)
    reference = serializers.CharField(max_length=64)
    lines = ExpectedLineIn(many=True, allow_empty=False)


class PickTaskOut(serializers.Serializer):
    sequence = serializers.IntegerField()
    bin = serializers.CharField(source="bin.code")
    sku = serializers.CharField(source="sku.code")
    tote = serializers.CharField(source="tote.code")
    quantity = serializers.IntegerField()
    picked = serializers.IntegerField()
    short = serializers.IntegerField()
    status = serializers.CharField()


class PickListOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    location = serializers.CharField(source="location.code")
    tasks = PickTaskOut(many=True, source="tasks.on_list",
                        help_text="The totes still on the list: not an order cancelled or rejected since.")


class WaveOut(serializers.Serializer):
    number = serializers.CharField()
    location = serializers.CharField(source="location.code")
    delivery_method = serializers.CharField()
    cutoff_before = serializers.TimeField(allow_null=True)
    pick_lists = PickListOut(many=True)


class ReceiptLineOut(serializers.Serializer):
    sku = serializers.CharField(source="sku.code")
    expected_quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()
    put_away_quantity = serializers.IntegerField()
    discrepancy = serializers.CharField()
    discrepancy_units = serializers.IntegerField()


class ReceiptOut(serializers.Serializer):
    number = serializers.CharField()
    location = serializers.CharField(source="location.code")
    source = serializers.CharField()
    supplier = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.CharField()
    lines = ReceiptLineOut(many=True)
