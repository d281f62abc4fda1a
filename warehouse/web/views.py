"""The floor screens at /wms/: parse the scan or the tap, call a service in a transaction,
render. A domain error re-renders the same screen with a loud banner and nothing recorded;
success redirects (post/redirect/get). Staff see and act on their own location only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inventory.models import Location
from omnichannel.errors import DomainError, ValidationFailed
from omnichannel.permissions import Principal, principal_for_user
from omnichannel.timeofday import TimeOfDayInvalid, parse_time_of_day
from transport.models import Carrier
from warehouse import selectors
from warehouse.documents import packing_slip_pdf
from warehouse.errors import UnknownCode
from warehouse.models import LEFT_THE_WALK, PickTask, ReturnLine
from warehouse.services import manifest, packing, picking, pickup, putback, receiving, returns

LOGIN_URL = "/wms/login/"
LOCATION_KEY = "wms_location_id"


class FloorRequest(HttpRequest):
    principal: Principal
    location: Location


def floor_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in staff with a location (floor staff: their own; ops: the one they chose)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        principal = principal_for_user(request.user)
        if principal is None:
            return HttpResponseRedirect(f"{LOGIN_URL}?next={request.path}")
        location_id = principal.location_id if principal.is_floor else (
            request.session.get(LOCATION_KEY) if principal.is_ops else None)
        if location_id is None:
            if principal.is_ops:
                return HttpResponseRedirect(reverse("wms:choose-location"))
            return render(request, "warehouse/forbidden.html", status=403)
        request.principal = principal  # type: ignore[attr-defined]
        request.location = Location.objects.get(pk=location_id)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def run(action: Callable[[], Any]) -> tuple[Any, DomainError | None]:
    """Call a service in one transaction; a domain error is returned, not raised."""
    try:
        with transaction.atomic():
            return action(), None
    except DomainError as error:
        return None, error


def screen(request: HttpRequest, template: str, context: dict[str, Any], error: DomainError | None = None
           ) -> HttpResponse:
    principal = getattr(request, "principal", None)
    context = {"location": getattr(request, "location", None), "error": error,
               "is_ops": bool(principal and principal.is_ops), **context}
    return render(request, template, context, status=error.status if error else 200)


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def actor(request: HttpRequest) -> str:
    return request.principal.actor  # type: ignore[attr-defined]


# --- login, location, home -------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "warehouse/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("wms:home")


def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        logout(request)
    return HttpResponseRedirect(LOGIN_URL)


@require_http_methods(["GET", "POST"])
def choose_location(request: HttpRequest) -> HttpResponse:
    principal = principal_for_user(request.user)
    if principal is None or not principal.is_ops:
        return HttpResponseRedirect(LOGIN_URL)
    if request.method == "POST":
        location = Location.objects.filter(code=request.POST.get("code", ""), is_active=True).first()
        if location is not None:
            request.session[LOCATION_KEY] = location.pk
            return HttpResponseRedirect(reverse("wms:home"))
    return render(request, "warehouse/choose_location.html",
                  {"locations": Location.objects.filter(is_active=True).order_by("code")})


@floor_view
def home(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    return screen(request, "warehouse/home.html", {"counts": selectors.home_counts(location)})


# --- waves (ops) ---------------------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def waves(request: HttpRequest) -> HttpResponse:
    """Ops release the waiting work of the location as batch pick lists."""
    location = request.location  # type: ignore[attr-defined]
    if not request.principal.is_ops:  # type: ignore[attr-defined]
        return render(request, "warehouse/forbidden.html", {"reason": "Waves are released by ops."}, status=403)
    error = None
    if request.method == "POST":
        cutoff, error = _cutoff(request.POST.get("cutoff_before", ""))
        batch_size = _int(request.POST.get("batch_size"), 6) or 0
        if error is None:
            wave, error = run(lambda: picking.wave_create(
                location, delivery_method=request.POST.get("delivery_method", ""), cutoff_before=cutoff,
                batch_size=batch_size, actor=actor(request)))
        if error is None:
            messages.success(request, f"Wave {wave.number} released: {wave.pick_lists.count()} pick list(s)")
            return HttpResponseRedirect(reverse("wms:waves"))
    return screen(request, "warehouse/waves.html", {
        "waves": selectors.recent_waves(location), "waiting": selectors.waiting_fulfillments(location)}, error)


def _cutoff(value: str) -> tuple[time | None, DomainError | None]:
    """The typed cutoff ("15:30", "15.30", "15:30:00"; omnichannel.timeofday), or None when left
    empty; anything else is refused (not a 500, not read as "no cutoff", which would release all
    the work, and not "15.30" read as 15:00:00.3)."""
    if not value.strip():
        return None, None
    try:
        return parse_time_of_day(value), None
    except TimeOfDayInvalid as exc:
        return None, ValidationFailed(str(exc), field="cutoff_before")


# --- picking -------------------------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def pick_lists(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    error = None
    if request.method == "POST":
        fulfillment = selectors.fulfillment_get(location, _int(request.POST.get("fulfillment"), 0) or 0)
        pick_list, error = run(lambda: picking.pick_list_create(location, [fulfillment], kind="single",
                                                                actor=actor(request)))
        if error is None:
            return HttpResponseRedirect(reverse("wms:pick", args=[pick_list.pk]))
    return screen(request, "warehouse/pick_lists.html", {
        "pick_lists": selectors.pick_lists(location), "waiting": selectors.waiting_fulfillments(location)}, error)


@floor_view
@require_http_methods(["GET", "POST"])
def pick(request: HttpRequest, pk: int) -> HttpResponse:
    """The next pick of the walk; above it, the totes taken off this walk (an order cancelled
    meanwhile) with the units to put back, until someone taps "Done" here or at packing."""
    location = request.location  # type: ignore[attr-defined]
    pick_list = selectors.pick_list_get(location, pk)
    here = reverse("wms:pick", args=[pk])
    dropped, _ = run(lambda: picking.pick_list_drop_cancelled(pick_list, actor=actor(request)))
    if dropped:  # a tote left the walk: say so first, and act on nothing posted for it
        for note in dropped:
            messages.warning(request, note)
        return HttpResponseRedirect(here)
    if request.method == "POST" and request.POST.get("step") == "put_back":
        fulfillment_id = _int(request.POST.get("fulfillment"), 0) or 0
        if selectors.put_backs_open(location, fulfillment_id, pick_list=pick_list):
            done, _ = run(lambda: putback.put_back_confirm(location, fulfillment_id, actor=actor(request)))
            if done:
                messages.success(request, "Units back on their shelves")
        return HttpResponseRedirect(here)
    task = selectors.next_task(pick_list)
    posted = selectors.pick_task_get(pick_list, _int(request.POST.get("task"))) if request.method == "POST" else None
    if posted is not None and posted != task:  # the screen showed a pick that is no longer next
        messages.warning(request, _no_longer_next(posted))
        return HttpResponseRedirect(here)
    put_backs = selectors.put_backs_open(location, pick_list=pick_list)
    if task is None:
        return screen(request, "warehouse/pick_done.html", {"pick_list": pick_list, "put_backs": put_backs})
    bin_code = (request.POST.get("bin") if request.method == "POST" else request.GET.get("bin")) or ""
    error = None
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "bin":
            _, error = run(lambda: picking.pick_check_bin(task, request.POST.get("code", "")))
            bin_code = "" if error else request.POST.get("code", "").strip()
        elif step == "item":
            quantity = _int(request.POST.get("quantity"), 1) or 0
            _, error = run(lambda: picking.pick_scan(task, bin_code=bin_code, item_code=request.POST.get("code", ""),
                                                     quantity=quantity, actor=actor(request)))
            if error is None:
                messages.success(request, f"Picked {quantity} × {task.sku.name}")
                return HttpResponseRedirect(f"{here}?bin={bin_code}")
        elif step == "short":
            _, error = run(lambda: picking.pick_short(task, reason=request.POST.get("reason", ""),
                                                      actor=actor(request)))
            if error is None:
                messages.warning(request, f"Short pick recorded: {task.sku.name} sent to another location")
                return HttpResponseRedirect(here)
    elif bin_code and run(lambda: picking.pick_check_bin(task, bin_code))[1] is not None:
        bin_code = ""  # still at the last bin, but this pick is elsewhere
    done, total = selectors.pick_progress(pick_list)
    return screen(request, "warehouse/pick.html", {
        "pick_list": pick_list, "task": task, "bin_ok": bin_code, "done": done, "total": total,
        "description": selectors.sku_description(task.sku), "put_backs": put_backs}, error)


def _no_longer_next(task: PickTask) -> str:
    fulfillment = task.tote.fulfillment
    if fulfillment.status in LEFT_THE_WALK:
        return (f"Order {fulfillment.order.number} {picking.left_why(fulfillment)}: nothing was picked for it. "
                "Go on with the pick below.")
    if task.status == PickTask.Status.CANCELLED:  # a stock count took the line; the order goes on
        return f"That pick is off the list: {picking.line_taken_why(task, fulfillment)}. Nothing was recorded. " \
               "Go on with the pick below."
    if task.status in {PickTask.Status.DONE, PickTask.Status.SHORT}:
        return "That pick was done meanwhile: nothing was recorded. Go on with the pick below."
    return "That is not the next pick: nothing was recorded. Go on with the pick below."


# --- packing -------------------------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def pack_start(request: HttpRequest) -> HttpResponse:
    """Scan a tote to pack it; below, what waits for packing and, first, the cancelled
    orders whose picked units must go back to their shelves (confirmed with a tap)."""
    location = request.location  # type: ignore[attr-defined]
    error = None
    if request.method == "POST" and request.POST.get("step") == "put_back":
        fulfillment_id = _int(request.POST.get("fulfillment"), 0) or 0
        cards = selectors.put_backs_open(location, fulfillment_id)
        done, _ = run(lambda: putback.put_back_confirm(location, fulfillment_id, actor=actor(request)))
        if done and cards:
            messages.success(request, f"Order {cards[0].order_number}: units back on their shelves")
        return HttpResponseRedirect(reverse("wms:pack-start"))
    if request.method == "POST":
        found, error = run(lambda: packing.packing_find(location, request.POST.get("code", "")))
        if error is None:
            return HttpResponseRedirect(reverse("wms:pack", args=[found.pk]))
    return screen(request, "warehouse/pack_start.html", {
        "to_pack": selectors.to_pack(location), "put_backs": selectors.put_backs_open(location)}, error)


@floor_view
@require_http_methods(["GET", "POST"])
def pack(request: HttpRequest, pk: int) -> HttpResponse:
    fulfillment = selectors.fulfillment_get(request.location, pk)  # type: ignore[attr-defined]
    error = None
    if request.method == "POST" and fulfillment.status == "picked":
        error = _pack_action(request, fulfillment)
        if error is None:
            return HttpResponseRedirect(reverse("wms:pack", args=[pk]))
    return screen(request, "warehouse/pack.html", _pack_context(fulfillment), error)


def _pack_action(request: HttpRequest, fulfillment) -> DomainError | None:
    step, who = request.POST.get("step"), actor(request)
    if step == "item":
        quantity = _int(request.POST.get("quantity"), 1) or 0
        return run(lambda: packing.pack_scan(fulfillment, request.POST.get("code", ""), quantity=quantity,
                                             actor=who))[1]
    if step == "box":
        box = packing.current_box(fulfillment)
        weight = _int(request.POST.get("weight_grams"))
        return run(lambda: packing.pack_box_set(box, box_type_code=request.POST.get("box_type") or None,
                                                weight_grams=weight, actor=who))[1]
    if step == "new_box":
        return run(lambda: packing.pack_new_box(fulfillment, actor=who))[1]
    if step == "ship":
        return run(lambda: packing.pack_ship(fulfillment, actor=who))[1]
    return None


def _pack_context(fulfillment) -> dict[str, Any]:
    boxes = selectors.packing_boxes(fulfillment)
    wanted, packed = packing.units_to_pack(fulfillment), packing.units_packed(fulfillment)
    skus = selectors.skus_by_id(wanted)
    current = boxes[-1] if boxes and boxes[-1].package_id is None else None
    suggested = packing.box_suggestion(current) if current else None
    return {
        "fulfillment": fulfillment, "boxes": boxes, "current": current,
        "units": [{"sku": skus[s], "wanted": q, "packed": packed.get(s, 0)} for s, q in sorted(wanted.items())],
        "all_packed": bool(wanted) and wanted == packed,
        "suggested": suggested,
        "expected_weight": packing.box_expected_weight(current, suggested) if current else None,
        "box_types": fulfillment.location.box_types.filter(is_active=True),
        "is_pickup": fulfillment.order.delivery_method == "pickup",
        "put_backs": selectors.put_backs_open(fulfillment.location, fulfillment.pk)
        if fulfillment.status == "cancelled" else [],
    }


@floor_view
def label_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    fulfillment = selectors.fulfillment_get(request.location, pk)  # type: ignore[attr-defined]
    if fulfillment.shipment is None:
        return screen(request, "warehouse/forbidden.html", {"reason": "No label yet."})
    response = HttpResponse(bytes(fulfillment.shipment.label_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{fulfillment.shipment.tracking_number}.pdf"'
    return response


@floor_view
def slip_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    fulfillment = selectors.fulfillment_get(request.location, pk)  # type: ignore[attr-defined]
    response = HttpResponse(packing_slip_pdf(fulfillment, selectors.packing_boxes(fulfillment)),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="slip-{fulfillment.number}.pdf"'
    return response


# --- carrier manifest ----------------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def manifest_view(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    carriers = Carrier.objects.filter(is_active=True).order_by("name")
    carrier = carriers.filter(code=request.GET.get("carrier") or request.POST.get("carrier") or "").first() \
        or carriers.first()
    if carrier is None:
        return screen(request, "warehouse/forbidden.html", {"reason": "No carrier is set up."})
    sheet, error = run(lambda: manifest.manifest_open(location, carrier))
    if request.method == "POST" and error is None:
        if request.POST.get("step") == "close":
            closed, error = run(lambda: manifest.manifest_close(sheet, counted=_int(request.POST.get("counted"), -1)
                                                                or 0, actor=actor(request)))
            if error is None:
                messages.success(request, f"Manifest closed with {closed.package_count} package(s)")
        else:
            _, error = run(lambda: manifest.manifest_scan(sheet, request.POST.get("code", ""), actor=actor(request)))
        if error is None:
            return HttpResponseRedirect(f"{reverse('wms:manifest')}?carrier={carrier.code}")
    return screen(request, "warehouse/manifest.html", {
        "carrier": carrier, "carriers": carriers, "manifest": sheet,
        "entries": sheet.entries.all() if sheet else []}, error)


# --- pickup counter ------------------------------------------------------------------------------------


@floor_view
def pickup_search(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    query = request.GET.get("q", "")
    found = pickup.pickup_search(location, query)
    if len(found) == 1 and query:
        return HttpResponseRedirect(reverse("wms:pickup-handover", args=[found[0].pk]))
    return screen(request, "warehouse/pickup_search.html", {"query": query, "found": found})


@floor_view
@require_http_methods(["GET", "POST"])
def pickup_handover(request: HttpRequest, pk: int) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    fulfillment = selectors.fulfillment_get(location, pk)
    error = None
    if request.method == "POST":
        try:
            pickup.pickup_handover(location, pk, code=request.POST.get("code", ""), actor=actor(request))
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, f"{fulfillment.order.number} handed over")
            return HttpResponseRedirect(reverse("wms:pickup-handover", args=[pk]))
        fulfillment = selectors.fulfillment_get(location, pk)
    units = packing.units_to_pack(fulfillment)
    skus = selectors.skus_by_id(units)
    return screen(request, "warehouse/pickup.html", {
        "fulfillment": fulfillment, "units": [(skus[s], q) for s, q in units.items()]}, error)


# --- returns -------------------------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def returns_start(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    error: DomainError | None = None
    if request.method == "POST":
        order = selectors.order_by_number(request.POST.get("code", ""))
        if order is None:
            error = UnknownCode("No order with that number.", field="code")
        else:
            ret, error = run(lambda: returns.return_open(location, order, actor=actor(request)))
            if error is None:
                return HttpResponseRedirect(reverse("wms:return", args=[ret.pk]))
    return screen(request, "warehouse/returns_start.html", {}, error)


@floor_view
@require_http_methods(["GET", "POST"])
def return_view(request: HttpRequest, pk: int) -> HttpResponse:
    ret = selectors.return_get(request.location, pk)  # type: ignore[attr-defined]
    disposition = request.POST.get("disposition") or request.GET.get("disposition") or "restock"
    error = None
    if request.method == "POST" and ret.status == "open":
        if request.POST.get("step") == "receive":
            _, error = run(lambda: returns.return_receive(ret, actor=actor(request)))
        elif request.POST.get("step") == "clear":
            cleared, error = run(lambda: returns.return_clear(ret, actor=actor(request)))
            if error is None:
                messages.warning(request, f"Count started over: {cleared} scanned unit(s) cleared")
        else:
            _, error = run(lambda: returns.return_scan(ret, request.POST.get("code", ""), disposition=disposition,
                                                       actor=actor(request)))
        if error is None:
            return HttpResponseRedirect(f"{reverse('wms:return', args=[pk])}?disposition={disposition}")
        ret.refresh_from_db()
    return screen(request, "warehouse/return.html", {
        "ret": ret, "lines": ret.lines.select_related("sku").order_by("pk"), "disposition": disposition,
        "dispositions": ReturnLine.Disposition.choices,
        "order_lines": ret.order.lines.select_related("sku")}, error)


# --- receiving and putaway -----------------------------------------------------------------------------


@floor_view
@require_http_methods(["GET", "POST"])
def receiving_list(request: HttpRequest) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    error = None
    if request.method == "POST":
        transfer = selectors.transfer_get(location, _int(request.POST.get("transfer"), 0) or 0)
        receipt, error = run(lambda: receiving.receipt_for_transfer(transfer, actor=actor(request)))
        if error is None:
            return HttpResponseRedirect(reverse("wms:receipt", args=[receipt.pk]))
    return screen(request, "warehouse/receiving_list.html", {
        "receipts": selectors.receipts(location), "transfers": selectors.transfers_arriving(location),
        "putaway": selectors.putaway_waiting(location)}, error)


@floor_view
@require_http_methods(["GET", "POST"])
def receipt_view(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = selectors.receipt_get(request.location, pk)  # type: ignore[attr-defined]
    error = None
    if request.method == "POST":
        if request.POST.get("step") == "close":
            _, error = run(lambda: receiving.receipt_close(receipt, actor=actor(request)))
        else:
            quantity = _int(request.POST.get("quantity"), 1) or 0
            _, error = run(lambda: receiving.receipt_scan(receipt, request.POST.get("code", ""), quantity=quantity,
                                                          actor=actor(request)))
        if error is None:
            return HttpResponseRedirect(reverse("wms:receipt", args=[pk]))
        receipt.refresh_from_db()
    return screen(request, "warehouse/receipt.html", {
        "receipt": receipt, "lines": receipt.lines.select_related("sku").order_by("pk")}, error)


@floor_view
@require_http_methods(["GET", "POST"])
def putaway(request: HttpRequest, pk: int) -> HttpResponse:
    location = request.location  # type: ignore[attr-defined]
    line = selectors.receipt_line_get(location, pk)
    error = None
    if request.method == "POST":
        quantity = _int(request.POST.get("quantity"))
        _, error = run(lambda: receiving.putaway_confirm(line, request.POST.get("code", ""), quantity=quantity,
                                                         actor=actor(request)))
        if error is None:
            messages.success(request, f"Put away {line.sku.name}")
            return HttpResponseRedirect(reverse("wms:receiving"))
    return screen(request, "warehouse/putaway.html", {
        "line": line, "suggested": receiving.putaway_suggestion(location.pk, line.sku),
        "description": selectors.sku_description(line.sku)}, error)
