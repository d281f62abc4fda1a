"""Carrier handover: packages are scanned (by their parcel's tracking number) onto the
carrier's open pickup manifest at the location; the driver's count closes it. Callers
hold a transaction."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Location
from omnichannel.errors import InvalidTransition
from orders.models import Fulfillment
from transport.models import Carrier, ShipmentParcel
from warehouse.errors import CountMismatch, TooMany, UnknownCode, WrongItem
from warehouse.models import CarrierManifest, ManifestPackage

M = CarrierManifest.Status


def manifest_open(location: Location, carrier: Carrier) -> CarrierManifest:
    """The carrier's open manifest at the location (one at a time)."""
    manifest = CarrierManifest.objects.filter(location=location, carrier=carrier, status=M.OPEN).first()
    if manifest is not None:
        return manifest
    try:
        with transaction.atomic():
            return CarrierManifest.objects.create(location=location, carrier=carrier)
    except IntegrityError:
        return CarrierManifest.objects.get(location=location, carrier=carrier, status=M.OPEN)


def manifest_scan(manifest: CarrierManifest, tracking_number: str, *, actor: str) -> ManifestPackage:
    """Put the scanned package on the manifest. Another location's parcel, another carrier's,
    or one already on a manifest: error, nothing recorded."""
    manifest = CarrierManifest.objects.select_for_update(of=("self",)).select_related("carrier").get(pk=manifest.pk)
    if manifest.status != M.OPEN:
        raise InvalidTransition("manifest", manifest.status, "scan onto")
    code = (tracking_number or "").strip()
    parcel = ShipmentParcel.objects.select_related("shipment__service__carrier").filter(tracking_number=code).first()
    fulfillment = (Fulfillment.objects.filter(shipment_id=parcel.shipment_id, location_id=manifest.location_id)
                   .first() if parcel else None)
    if parcel is None or fulfillment is None:
        raise UnknownCode(f"No package {code!r} shipped from here.", field="code")
    carrier = parcel.shipment.service.carrier
    if carrier.pk != manifest.carrier_id:
        raise WrongItem(f"{code} goes with {carrier.name}, not {manifest.carrier.name}.", field="code")
    packages = list(fulfillment.packages.order_by("pk"))
    package = packages[parcel.sequence - 1] if parcel.sequence <= len(packages) else None
    if package is None:
        raise UnknownCode(f"No package {code!r} shipped from here.", field="code")
    if ManifestPackage.objects.filter(package=package).exists():
        raise TooMany(f"{code} is already on a manifest.", field="code")
    return ManifestPackage.objects.create(manifest=manifest, package=package, tracking_number=code)


def manifest_close(manifest: CarrierManifest, *, counted: int, actor: str) -> CarrierManifest:
    """Close with the driver's count; it must match the packages scanned."""
    manifest = CarrierManifest.objects.select_for_update().get(pk=manifest.pk)
    if manifest.status != M.OPEN:
        raise InvalidTransition("manifest", manifest.status, "close")
    scanned = manifest.entries.count()
    if counted != scanned:
        raise CountMismatch(f"{scanned} package(s) were scanned but {counted} counted: count again.",
                            field="counted")
    CarrierManifest.objects.filter(pk=manifest.pk).update(status=M.CLOSED, package_count=scanned,
                                                          closed_at=timezone.now(), closed_by=actor[:100])
    manifest.refresh_from_db()
    return manifest
