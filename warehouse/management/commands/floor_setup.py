"""`manage.py floor_setup`: give every active location without bins a demo layout (zones,
storage bins with barcodes "<location>-<bin>", the special bins, box types) and put its
current stock into those bins, so the /wms/ screens work on the seeded network.
Idempotent: a location that has bins is left alone."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from inventory.models import Location
from warehouse.models import Bin
from warehouse.services.layout import BinInput, BoxInput, bins_create, bins_spread_unbinned, box_types_create

BOXES = [BoxInput("S", "Small box", 320, 260, 130, 5000, 100), BoxInput("M", "Medium box", 400, 300, 200, 10000, 200),
         BoxInput("L", "Large box", 600, 400, 300, 20000, 400)]


def layout(location: Location) -> list[BinInput]:
    if location.kind == Location.Kind.WAREHOUSE:
        return [BinInput(f"{aisle}-{bay:02d}-{level}", sequence)
                for sequence, (aisle, bay, level) in enumerate(
                    ((a, b, lv) for a in "ABC" for b in range(1, 11) for lv in (1, 2)), start=1)]
    return [BinInput(f"S-{shelf:02d}", shelf) for shelf in range(1, 13)]


class Command(BaseCommand):
    help = "Give locations without bins a demo layout and put their stock into the bins. Idempotent."

    def handle(self, *args, **options):
        done = 0
        with transaction.atomic():
            for location in Location.objects.filter(is_active=True).order_by("code"):
                if Bin.objects.filter(location=location).exists():
                    continue
                bins = bins_create(location, "A" if location.kind == Location.Kind.WAREHOUSE else "SHOP",
                                   layout(location))
                box_types_create(location, BOXES)
                units = bins_spread_unbinned(location, bins)
                self.stdout.write(f"{location.code}: {len(bins)} bins, {units} units placed")
                done += 1
        self.stdout.write(self.style.SUCCESS(f"Floor set up at {done} location(s)."))
