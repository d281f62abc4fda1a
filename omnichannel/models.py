from __future__ import annotations

from django.conf import settings
from django.db import models


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it describes.

    Dispatched after commit by Celery; a periodic sweep re-dispatches any event whose
    `dispatched_at` is still empty. Handlers are idempotent (at-least-once delivery)."""

    type = models.CharField(max_length=64)  # indexed in Meta: no prefix-search twin
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["type"], name="outbox_type"),
            models.Index(fields=["aggregate_type", "aggregate_id"]),
            models.Index(fields=["created_at"], name="outbox_pending_idx",
                         condition=models.Q(dispatched_at__isnull=True)),
        ]
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}:{self.aggregate_id}"


class IdempotencyRecord(models.Model):
    """The first answer to an `Idempotency-Key`, replayed for retries of the same request."""

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"



class StaffMember(models.Model):
    """A staff user's role and, for floor roles, the one location they work at."""

    class Role(models.TextChoices):
        OPS = "ops", "Operations"
        PICKER = "picker", "Picker / packer"
        DRIVER = "driver", "Driver"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=16, choices=Role.choices)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="staff")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role="ops") | models.Q(location__isnull=False),
                name="floor_staff_have_location",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"
