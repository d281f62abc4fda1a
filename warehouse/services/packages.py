from __future__ import annotations

from inventory.models import Location
from warehouse.models import Package


def package_create(*, location: Location, reference: str, weight_grams: int, length_cm: int | None = None,
                   width_cm: int | None = None, height_cm: int | None = None) -> Package:
    return Package.objects.create(location=location, reference=reference, weight_grams=weight_grams,
                                  length_cm=length_cm, width_cm=width_cm, height_cm=height_cm)
