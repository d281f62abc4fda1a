"""Every write to transport: booking shipments through a carrier adapter, recording
tracking events. Carriers are adapters under transport/carriers/ (no Django there)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from omnichannel import outbox
from transport import selectors
from transport.carriers.base import (
    Address,
    CarrierError,
    Parcel,
    RateNotAvailable,
    RateRequest,
    ShipmentRequest,
)
from transport.carriers.builtin import (
    BuiltinCarrier,
    BuiltinCarrierConfig,
    InvalidConfiguration,
    RateCardEntry,
    ServiceConfig,
)
from transport.errors import (
    NoCarrierService,
    ShipmentNotFound,
    TrackingEventIdReused,
    TrackingEventInvalid,
    UnknownCarrierService,
)
from transport.models import Carrier, CarrierService, Shipment, ShipmentParcel, TrackingEvent

logger = logging.getLogger(__name__)

ADVANCING: list[str] = [Shipment.Status.BOOKED, Shipment.Status.IN_TRANSIT, Shipment.Status.OUT_FOR_DELIVERY,
                        Shipment.Status.DELIVERED]


@dataclass(frozen=True)
class ParcelInput:
    weight_grams: int
    length_cm: int | None = None
    width_cm: int | None = None
    height_cm: int | None = None


def carrier_adapter(carrier: Carrier) -> BuiltinCarrier:
    """Build the adapter for a carrier from its rows (services and rate cards)."""
    services = []
    for service in carrier.services.filter(is_active=True).prefetch_related("rates"):
        rows = service.rates.all()
        if not rows:
            continue
        try:
            card = tuple(RateCardEntry(r.max_weight_grams, Decimal(str(r.max_km)), r.price) for r in rows)
            # max_distance_km: a float (FloatField), which ServiceConfig.__post_init__ makes a Decimal
            services.append(ServiceConfig(code=service.code, name=service.name, transit_days=service.transit_days,
                                          cutoff=service.cutoff_time, rate_card=card, is_same_day=service.is_same_day,
                                          max_distance_km=service.max_distance_km))  # type: ignore[arg-type]
        except InvalidConfiguration as exc:
            # One badly configured service must not take its carrier's other services down with it.
            logger.warning("carrier service %s left out: %s", service.code, exc.message)
    if not services:
        raise NoCarrierService(f"{carrier.name} has no active service with a rate card.")
    config = BuiltinCarrierConfig(code=carrier.code, name=carrier.name, services=tuple(services),
                                  timezone=settings.TIME_ZONE)
    return BuiltinCarrier(config)


def _address(data: dict[str, Any]) -> Address:
    return Address(name=data.get("name") or "", line1=data.get("line1") or "", line2=data.get("line2") or "",
                   city=data.get("city") or "", postal_code=data.get("postal_code") or "",
                   country=data.get("country") or "", phone=data.get("phone") or "",
                   lat=data.get("lat"), lng=data.get("lng"))


def _parcels(parcels: list[ParcelInput]) -> tuple[Parcel, ...]:
    return tuple(Parcel(p.weight_grams, *(Decimal(v) if v else None for v in (p.length_cm, p.width_cm, p.height_cm)))
                 for p in parcels)


# Up to this many codes are listed in the answer to an unknown one.
KNOWN_CODES_LISTED = 10


def service_check(service_code: str, *, same_day: bool) -> None:
    """The service a caller asked for by code can be used for this kind of shipment: an
    unknown code (a typo) is bad input, 400 with the codes that would do; a known service
    that is switched off, whose carrier is, or of the other kind (same-day or not) is a
    business rule, 422 saying which."""
    service = CarrierService.objects.select_related("carrier").filter(code=service_code).first()
    kind = "same-day" if same_day else "regular (not same-day)"
    if service is None:
        usable = selectors.service_codes(same_day=same_day)
        known = ""
        if not usable:
            known = f" (there is no active {kind} service)"
        elif len(usable) <= KNOWN_CODES_LISTED:
            known = f" (known: {', '.join(usable)})"
        raise UnknownCarrierService(f"Unknown service {service_code!r}{known}.", field="service_code")
    if not service.is_active:
        raise NoCarrierService(f"Service {service_code!r} is not active.", field="service_code")
    if not service.carrier.is_active:
        raise NoCarrierService(f"Service {service_code!r}: its carrier {service.carrier.name} is not active.",
                               field="service_code")
    if service.is_same_day != same_day:
        its_kind = "a same-day" if service.is_same_day else "not a same-day"
        raise NoCarrierService(f"Service {service_code!r} is {its_kind} service; this shipment needs a {kind} one.",
                               field="service_code")


def _cheapest(origin: Address, destination: Address, parcels: tuple[Parcel, ...], *, same_day: bool,
              service_code: str | None) -> CarrierService:
    services = CarrierService.objects.filter(is_active=True, carrier__is_active=True, is_same_day=same_day)
    if service_code:
        service_check(service_code, same_day=same_day)
        services = services.filter(code=service_code)
    best: tuple[Decimal, CarrierService] | None = None
    reasons = []
    for carrier in Carrier.objects.filter(pk__in=services.values("carrier_id")):
        wanted = tuple(services.filter(carrier=carrier).values_list("code", flat=True))
        try:
            adapter = carrier_adapter(carrier)
            # Only services with a usable rate card can be priced (a new service has none yet).
            codes = tuple(code for code in wanted if adapter.config.service(code) is not None)
            if not codes:
                reasons.append(f"{carrier.name} has no usable rate card for {', '.join(wanted)}")
                continue
            quotes = adapter.rate(RateRequest(origin, destination, parcels, service_codes=codes))
        except NoCarrierService as exc:  # a carrier still being set up: no service has a rate card
            reasons.append(exc.detail)
            continue
        except CarrierError as exc:
            reasons.append(exc.message)
            continue
        quote = quotes[0]
        if best is None or quote.amount < best[0]:
            best = (quote.amount, services.get(code=quote.service_code))
    if best is None:
        detail = "; ".join(reasons) or "no active service"
        raise NoCarrierService(f"No carrier service can take this shipment: {detail}.", field="service_code")
    return best[1]


def shipment_book(*, reference: str, origin: dict[str, Any], destination: dict[str, Any],
                  parcels: list[ParcelInput], service_code: str | None = None, same_day: bool = False) -> Shipment:
    """Rate-shop (or use `service_code`, checked by `service_check`), book, and store the
    shipment with its label. A destination without coordinates is priced at the farthest zone
    (`Shipment.pricing_basis`, transport.carriers.builtin.rating).

    The built-in carrier computes locally, so booking inside the caller's transaction is
    safe; an external carrier's HTTP call must be made after commit (docs/adr/0002)."""
    if not parcels:
        raise NoCarrierService("A shipment needs at least one parcel.", field="packages")
    src, dst, boxes = _address(origin), _address(destination), _parcels(parcels)
    service = _cheapest(src, dst, boxes, same_day=same_day, service_code=service_code)
    adapter = carrier_adapter(service.carrier)
    for _ in range(5):
        try:
            booked = adapter.create_shipment(ShipmentRequest(service.code, src, dst, boxes, reference=reference))
        except RateNotAvailable as exc:
            raise NoCarrierService(exc.message, field="service_code") from exc
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    service=service, reference=reference, tracking_number=booked.master_tracking_number,
                    cost=booked.cost, currency=booked.currency, weight_grams=sum(p.weight_grams for p in parcels),
                    parcel_count=len(parcels), label_pdf=booked.label_pdf, origin=origin, destination=destination,
                    estimated_delivery=booked.estimated_delivery, pricing_basis=booked.pricing_basis.value)
                ShipmentParcel.objects.bulk_create([
                    ShipmentParcel(shipment=shipment, sequence=i + 1, tracking_number=number,
                                   weight_grams=parcel.weight_grams)
                    for i, (number, parcel) in enumerate(zip(booked.tracking_numbers, parcels, strict=True))])
                return shipment
        except IntegrityError:
            continue  # random tracking serial collided: draw again
    raise NoCarrierService("Could not allocate a tracking number; try again.")


# A carrier that timed out waiting for our answer sends the scan again within minutes; the
# same status at the same place hours later is a new scan (a second delivery attempt).
SCAN_RETRY_WINDOW = timedelta(minutes=5)


def tracking_event_record(*, tracking_number: str, status: str, occurred_at: datetime | None = None,
                          location: str = "", description: str = "", external_id: str = "") -> TrackingEvent:
    """Record a carrier scan and move the shipment forward (never backwards).
    Publishes `shipment.tracking_updated`. Caller holds a transaction.

    A scan sent again (`_scan_already_recorded`) returns the event it was first recorded as
    and changes nothing: the shipment stays as it is and nothing is published twice.
    `external_id`: the carrier's id for the scan, or the request's Idempotency-Key."""
    if status not in Shipment.Status.values or status in {Shipment.Status.BOOKED, Shipment.Status.CANCELLED}:
        raise TrackingEventInvalid(f"Unknown tracking status {status!r}.", field="status")
    if "\x00" in tracking_number:  # no shipment has one, and Postgres refuses it in a comparison (a 500)
        raise ShipmentNotFound(f"No shipment with tracking number {tracking_number!r}.", field="tracking_number")
    shipment_id = (ShipmentParcel.objects.filter(tracking_number=tracking_number)
                   .values_list("shipment_id", flat=True).first())
    shipment = Shipment.objects.select_for_update().filter(
        Q(tracking_number=tracking_number) | Q(pk=shipment_id or 0)).first()
    if shipment is None:
        raise ShipmentNotFound(f"No shipment with tracking number {tracking_number!r}.", field="tracking_number")
    recorded = _scan_already_recorded(shipment, status=status, occurred_at=occurred_at, location=location,
                                      description=description, external_id=external_id)
    if recorded is not None:
        return recorded
    occurred_at = occurred_at or timezone.now()
    event = TrackingEvent.objects.create(shipment=shipment, status=status, occurred_at=occurred_at,
                                         location=location, description=description, external_id=external_id)
    if _advances(shipment.status, status):
        shipment.status = status
        if status == Shipment.Status.DELIVERED:
            shipment.delivered_at = occurred_at
        shipment.save(update_fields=["status", "delivered_at"])
    outbox.publish("shipment.tracking_updated", "shipment", shipment.pk, {
        "shipment_id": shipment.pk, "tracking_number": shipment.tracking_number, "reference": shipment.reference,
        "status": status, "occurred_at": occurred_at.isoformat(), "location": location,
        "description": description})
    return event


def _scan_already_recorded(shipment: Shipment, *, status: str, occurred_at: datetime | None, location: str,
                           description: str, external_id: str) -> TrackingEvent | None:
    """The event this scan was already recorded as, or None for a new scan. Caller holds the
    shipment's row lock, so a twin sent at the same moment waits for it and then finds this one.

    - With an id: the event with that id, however late the retry (the same id on another
      status is a 409). A new id is a new scan, unless its time repeats one (next rule).
    - With `occurred_at`: the event of that status at that instant (`tracking_event_once`).
    - With neither: the event of that status, location and description received within
      SCAN_RETRY_WINDOW, since a scan without a time is stamped on arrival and its retry
      would otherwise be a second scan."""
    events = TrackingEvent.objects.filter(shipment=shipment)
    if external_id:
        found = events.filter(external_id=external_id).first()
        if found is not None:
            if found.status != status:
                raise TrackingEventIdReused(
                    f"Scan {external_id!r} was recorded as {found.status}, not {status}.", field="external_id")
            return found
    if occurred_at is not None:
        return events.filter(status=status, occurred_at=occurred_at).first()
    if external_id:
        return None
    return (events.filter(status=status, location=location, description=description,
                          received_at__gte=timezone.now() - SCAN_RETRY_WINDOW)
            .order_by("-received_at", "-pk").first())


def _advances(current: str, new: str) -> bool:
    if new == Shipment.Status.EXCEPTION:
        return current != Shipment.Status.DELIVERED
    if current == Shipment.Status.EXCEPTION:
        return True
    return ADVANCING.index(new) > ADVANCING.index(current)
