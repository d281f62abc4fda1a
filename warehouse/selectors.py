"""Reads for the floor screens and API, always scoped to one location."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from inventory.models import Location, Sku, Transfer
from orders.models import Fulfillment, Order
from warehouse.models import (
    LEFT_THE_WALK,
    Bin,
    CarrierManifest,
    Package,
    PackingBox,
    PickList,
    PickTask,
    PutBack,
    Receipt,
    ReceiptLine,
    ReturnReceipt,
    Tote,
    Wave,
)
from warehouse.services.picking import open_fulfillments
from warehouse.services.putback import put_back_text

FS = Fulfillment.Status


def _get(qs: QuerySet, **lookup):
    found = qs.filter(**lookup).first()
    if found is None:
        raise Http404("Not at your location.")
    return found


@dataclass(frozen=True)
class HomeCounts:
    waiting: int
    pick_lists: int
    to_pack: int
    pickups: int
    receipts: int
    manifests: int
    put_backs: int = 0


def home_counts(location: Location) -> HomeCounts:
    return HomeCounts(
        waiting=len(open_fulfillments(location)),
        pick_lists=pick_lists(location).count(),
        to_pack=to_pack(location).count(),
        pickups=Fulfillment.objects.filter(location=location, status=FS.READY_FOR_PICKUP).count(),
        receipts=receipts(location).count(),
        manifests=CarrierManifest.objects.filter(location=location, status=CarrierManifest.Status.OPEN).count(),
        put_backs=PutBack.objects.filter(location=location, done_at__isnull=True).values("fulfillment_id")
        .distinct().count(),
    )


def waiting_fulfillments(location: Location) -> list[Fulfillment]:
    return open_fulfillments(location)


def _count(qs: QuerySet) -> Coalesce:
    """A correlated COUNT(*) of `qs` (filtered on the outer row), 0 when it finds none."""
    return Coalesce(Subquery(qs.order_by().values("pick_list_id").annotate(n=Count("pk")).values("n"),
                             output_field=IntegerField()), 0)


def pick_lists(location: Location) -> QuerySet[PickList]:
    """The location's pick lists with something left to pick, each with its picks left
    (`open_tasks`) and the orders still on it (`tote_count`): a tote whose order was
    cancelled or whose fulfillment was rejected here is on neither (`PickTask.objects.to_walk`)."""
    return (PickList.objects.filter(location=location).exclude(status=PickList.Status.DONE)
            .annotate(open_tasks=_count(PickTask.objects.to_walk().filter(pick_list=OuterRef("pk"))),
                      tote_count=_count(Tote.objects.filter(pick_list=OuterRef("pk"))
                                        .exclude(fulfillment__status__in=LEFT_THE_WALK)))
            .filter(open_tasks__gt=0).order_by("created_at", "pk"))


def pick_list_get(location: Location, pk: int) -> PickList:
    """A pick list of this location; another location's is a 404."""
    return _get(PickList.objects.filter(location=location).select_related("wave"), pk=pk)


def next_task(pick_list: PickList) -> PickTask | None:
    return (pick_list.tasks.to_walk().select_related("bin", "sku__product", "tote__fulfillment__order")
            .order_by("sequence", "pk").first())


def pick_task_get(pick_list: PickList, pk: int | None) -> PickTask | None:
    """A task of this pick list (whatever its state), or None."""
    if pk is None:
        return None
    return pick_list.tasks.select_related("tote__fulfillment__order").filter(pk=pk).first()


def pick_progress(pick_list: PickList) -> tuple[int, int]:
    """(tasks closed, tasks in all) of the totes still on the list."""
    tasks = pick_list.tasks.on_list()
    total = tasks.count()
    return total - tasks.to_walk().count(), total


def sku_description(sku: Sku) -> str:
    attributes = sku.attributes or {}
    parts = [f"{key} {value}" for key, value in attributes.items() if key in {"size", "colour", "color"}]
    return ", ".join(parts)


def to_pack(location: Location) -> QuerySet[Fulfillment]:
    return Fulfillment.objects.filter(location=location, status=FS.PICKED).select_related("order")


@dataclass(frozen=True)
class PutBackCard:
    """Picked units of one order that wait at the packing station to go back: the order was
    cancelled or left this location, or (`goes_on`) it goes on here without them (a stock
    count took them: `putback.pick_lines_withdraw`)."""

    fulfillment_id: int
    order_number: str
    totes: list[str]
    lines: list[str]  # "1 × TEE-WHT-M to bin A-01-1", one per SKU and bin, in walking order
    packages: int  # voided packages to unpack first
    since: datetime
    goes_on: bool = False  # the order is still picked and packed here, without these units


def put_backs_open(location: Location, fulfillment_id: int | None = None, *,
                   pick_list: PickList | None = None) -> list[PutBackCard]:
    """The location's put-backs nobody confirmed yet, one card per order, oldest first; those
    of one fulfillment, or of the totes taken off one pick list's walk (or that lost a line)."""
    qs = PutBack.objects.filter(location=location, done_at__isnull=True)
    if fulfillment_id is not None:
        qs = qs.filter(fulfillment_id=fulfillment_id)
    if pick_list is not None:
        taken_off = Tote.objects.filter(pick_list=pick_list, tasks__status=PickTask.Status.CANCELLED)
        qs = qs.filter(pick_task__tote__in=taken_off)
    rows = list(qs.select_related("fulfillment__order", "sku", "bin", "pick_task__tote")
                .order_by("created_at", "fulfillment_id", "bin__pick_sequence", "bin__code", "sku__code", "pk"))
    ids = {row.fulfillment_id for row in rows}
    packages = dict(Package.objects.filter(fulfillments__pk__in=ids, voided_at__isnull=False)
                    .values_list("fulfillments__pk").annotate(n=Count("pk")).values_list("fulfillments__pk", "n"))
    cards: dict[int, dict] = {}
    for row in rows:
        card = cards.setdefault(row.fulfillment_id, {"order": row.fulfillment.order.number, "totes": [],
                                                     "units": {}, "since": row.created_at})
        if row.pick_task.tote.code not in card["totes"]:
            card["totes"].append(row.pick_task.tote.code)
        key = (row.sku.code, row.bin.code)
        card["units"][key] = card["units"].get(key, 0) + row.quantity
    goes_on = {row.fulfillment_id for row in rows if row.fulfillment.status not in LEFT_THE_WALK}
    return [PutBackCard(pk, card["order"], card["totes"],
                        [put_back_text(n, sku, bin_code) for (sku, bin_code), n in card["units"].items()],
                        packages.get(pk, 0), card["since"], pk in goes_on) for pk, card in cards.items()]


def fulfillment_get(location: Location, pk: int) -> Fulfillment:
    return _get(Fulfillment.objects.filter(location=location).select_related("order__customer", "shipment",
                                                                             "location"), pk=pk)


def packing_boxes(fulfillment: Fulfillment) -> list[PackingBox]:
    return list(fulfillment.packing_boxes.select_related("box_type", "package").prefetch_related("items__sku")
                .order_by("sequence"))


def receipts(location: Location) -> QuerySet[Receipt]:
    return Receipt.objects.filter(location=location).exclude(status=Receipt.Status.CLOSED).order_by("created_at")


def receipt_get(location: Location, pk: int) -> Receipt:
    return _get(Receipt.objects.filter(location=location), pk=pk)


def receipt_line_get(location: Location, pk: int) -> ReceiptLine:
    return _get(ReceiptLine.objects.filter(receipt__location=location).select_related("receipt", "sku"), pk=pk)


def transfers_arriving(location: Location) -> list[Transfer]:
    """Shipped transfers to this location that nobody started receiving yet."""
    return list(Transfer.objects.filter(destination=location, receipt__isnull=True,
                                        status__in=[Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED])
                .select_related("source").order_by("shipped_at", "pk"))


def transfer_get(location: Location, pk: int) -> Transfer:
    return _get(Transfer.objects.filter(destination=location), pk=pk)


def putaway_waiting(location: Location) -> list[ReceiptLine]:
    return [line for line in ReceiptLine.objects.filter(receipt__location=location).select_related("receipt", "sku")
            .order_by("receipt__created_at", "pk") if line.waiting_for_putaway > 0]


def return_get(location: Location, pk: int) -> ReturnReceipt:
    return _get(ReturnReceipt.objects.filter(location=location).select_related("order"), pk=pk)


def order_by_number(number: str) -> Order | None:
    """Any channel's order (returns are taken whichever channel sold it)."""
    return Order.objects.filter(number__iexact=(number or "").strip()).select_related("customer").first()


def manifest_get(location: Location, pk: int) -> CarrierManifest:
    return _get(CarrierManifest.objects.filter(location=location).select_related("carrier"), pk=pk)


def skus_by_id(ids) -> dict[int, Sku]:
    return Sku.objects.in_bulk(list(ids))


def recent_waves(location: Location, limit: int = 10) -> list[Wave]:
    return list(Wave.objects.filter(location=location).annotate(lists=Count("pick_lists"))
                .order_by("-created_at", "-pk")[:limit])


def special_bins(location: Location) -> dict[str, Bin]:
    return {b.kind: b for b in Bin.objects.filter(location=location).exclude(kind=Bin.Kind.STORAGE)}
