from __future__ import annotations

from django.db import models
from django.db.models import Q


class Package(models.Model):
    """A packed parcel at a location, waiting for (or handed to) a carrier."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="packages")
    reference = models.CharField(max_length=64, db_index=True, help_text="What it holds, e.g. a fulfillment.")
    weight_grams = models.PositiveIntegerField()
    length_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    width_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    height_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(weight_grams__gt=0), name="package_weight_positive")]

    def __str__(self) -> str:
        return f"Package {self.pk} ({self.weight_grams} g)"
