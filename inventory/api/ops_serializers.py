"""Shapes of the staff stock-operations API, checkout holds and POS sales. Input serializers
validate shape only; the views call `inventory.services`."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inventory.models import AdjustmentReason, Reservation, StockLevel, Transfer, TransferLine
from inventory.services import MAX_HOLD_MINUTES, MOVE_STATES, SETTABLE_STATES

MAX_UNITS = 1_000_000


class StockTargetIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code or barcode (GTIN/EAN).")
    location = serializers.CharField(max_length=32, help_text="Location code.")


class ReceiveIn(StockTargetIn):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)
    reference = serializers.CharField(max_length=64, required=False, default="", allow_blank=True,
                                      help_text="E.g. the delivery note or purchase order number.")
    into = serializers.ChoiceField(choices=["available", "quality_control", "damaged"], required=False,
                                   default="available", help_text="Hold the arriving units in QC or damaged at once.")
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class AdjustIn(StockTargetIn):
    delta = serializers.IntegerField(min_value=-MAX_UNITS, max_value=MAX_UNITS, help_text="Units added (+) or removed (-).")
    reason = serializers.ChoiceField(choices=AdjustmentReason.choices)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class MoveIn(StockTargetIn):
    from_state = serializers.ChoiceField(choices=["available", "damaged", "quality_control"])
    to_state = serializers.ChoiceField(choices=list(MOVE_STATES))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)
    reason = serializers.RegexField(r"^[a-z][a-z0-9_]{0,31}$", required=False, allow_blank=True, default="",
                                    help_text="A short code (default to_<to_state>), e.g. damaged_in_store, qc_passed.")
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class CountIn(StockTargetIn):
    counted = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, help_text="Every unit there, damaged and QC included.")
    reference = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class SetIn(StockTargetIn):
    state = serializers.ChoiceField(choices=list(SETTABLE_STATES))
    expected = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, help_text="The value you last read.")
    value = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class StockLevelOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    location = serializers.CharField(source="location.code")
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control",
                  "available", "reorder_point", "reorder_target", "updated_at"]


class ReleasedReservationOut(serializers.ModelSerializer):
    class Meta:
        model = Reservation
        fields = ["id", "reference_type", "reference_id", "quantity"]


class CountOut(serializers.Serializer):
    stock_level = StockLevelOut()
    delta = serializers.IntegerField()
    released_reservations = ReleasedReservationOut(many=True, source="released")


# --- transfers ---------------------------------------------------------------------------------------


class TransferLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)


class TransferIn(serializers.Serializer):
    source = serializers.CharField(max_length=32)
    destination = serializers.CharField(max_length=32)
    lines = TransferLineIn(many=True, allow_empty=False, max_length=500)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class TransferQuantityIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)


class TransferShipIn(serializers.Serializer):
    lines = TransferQuantityIn(many=True, required=False, default=list, max_length=500,
                               help_text="Ship fewer than requested for these SKUs; other lines ship in full.")


class TransferReceiveIn(serializers.Serializer):
    lines = TransferQuantityIn(many=True, required=False, default=list, max_length=500,
                               help_text="Units that arrived now, per SKU.")
    into = serializers.ChoiceField(choices=["available", "quality_control", "damaged"], required=False,
                                   default="available")
    close = serializers.BooleanField(required=False, default=False,
                                     help_text="Nothing more will arrive: record discrepancies and close.")
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class TransferCancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class TransferLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity_requested", "quantity_shipped", "quantity_received", "discrepancy",
                  "discrepancy_note"]


class TransferOut(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = ["number", "status", "source", "destination", "created_by", "note", "created_at", "shipped_at",
                  "received_at", "cancelled_at", "lines"]

    def get_lines(self, transfer: Transfer) -> list[dict[str, Any]]:
        lines = sorted(transfer.lines.all(), key=lambda line: line.pk)
        return TransferLineOut(lines, many=True).data  # type: ignore[return-value]


# --- checkout holds and POS --------------------------------------------------------------------------


class HoldIn(StockTargetIn):
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_HOLD_MINUTES, required=False, default=15)
    cart_id = serializers.CharField(max_length=64, help_text="The storefront's cart id.")


class HoldOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock_level.sku.code")
    location = serializers.CharField(source="stock_level.location.code")
    cart_id = serializers.CharField(source="reference_id")

    class Meta:
        model = Reservation
        fields = ["id", "sku", "location", "quantity", "cart_id", "status", "expires_at", "created_at", "closed_at"]


class PosLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class PosSaleIn(serializers.Serializer):
    location = serializers.CharField(max_length=32, help_text="The store's location code.")
    receipt_id = serializers.CharField(max_length=64, help_text="The till's receipt id; the same id twice sells once.")
    lines = PosLineIn(many=True, allow_empty=False, max_length=500)


class PosReceiptOut(serializers.Serializer):
    receipt_id = serializers.CharField(source="receipt.receipt_id")
    location = serializers.CharField(source="receipt.location.code")
    lines = serializers.JSONField(source="receipt.lines")
    created_at = serializers.DateTimeField(source="receipt.created_at")
    created = serializers.BooleanField(help_text="False: this receipt was booked before; nothing changed now.")


class ImportResultOut(serializers.Serializer):
    batch = serializers.CharField(help_text="reference_id of this import's movements")
    rows = serializers.IntegerField()
    levels_created = serializers.IntegerField()
    levels_changed = serializers.IntegerField()
    movements = serializers.IntegerField()
