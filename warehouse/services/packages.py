from __future__ import annotations

from collections.abc import Collection

from django.utils import timezone

from inventory.models import Location
from warehouse.models import Package


def package_create(*, location: Location, reference: str, weight_grams: int, length_cm: int | None = None,
                   width_cm: int | None = None, height_cm: int | None = None) -> Package:
    return Package.objects.create(location=location, reference=reference, weight_grams=weight_grams,
                                  length_cm=length_cm, width_cm=width_cm, height_cm=height_cm)


def packages_void(package_ids: Collection[int]) -> int:
    """Mark packages that will never leave as voided (a fulfillment packed again replaces its
    packages). Those already voided stay as they were; returns how many were voided now."""
    if not package_ids:
        return 0
    return Package.objects.filter(pk__in=sorted(package_ids), voided_at__isnull=True).update(voided_at=timezone.now())
