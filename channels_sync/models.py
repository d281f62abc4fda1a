from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SalesChannel(models.Model):
    class Kind(models.TextChoices):
        WEB = "web", "Web store"
        APP = "app", "Mobile app"
        POS = "pos", "Store point of sale"
        MARKETPLACE = "marketplace", "Marketplace"

    class ShortStockPolicy(models.TextChoices):
        REJECT = "reject", "Reject the order (409 with the short lines)"
        BACKORDER = "backorder", "Accept and backorder the short units"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    short_stock_policy = models.CharField(max_length=12, choices=ShortStockPolicy.choices,
                                          default=ShortStockPolicy.REJECT)
    webhook_url = models.URLField(blank=True)
    webhook_secret = models.CharField(max_length=128, blank=True)
    pickup_hold_days = models.PositiveSmallIntegerField(default=7)
    feeding_locations = models.ManyToManyField(
        "inventory.Location", blank=True, related_name="feeds_channels",
        help_text="Locations whose stock this channel may sell. Empty: every active location.")
    buffer_units = models.PositiveIntegerField(default=0, help_text="Units held back per SKU and location.")
    buffer_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                         help_text="Percent of available held back (after buffer_units).")
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """An API credential for a sales channel or a staff user.

    Only a SHA-256 of the token is stored. The token itself is an HMAC of the secret key
    and a per-token salt, so `manage.py api_token` can show it again without storing it."""

    name = models.CharField(max_length=100)
    channel = models.ForeignKey(SalesChannel, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="api_tokens")
    salt = models.CharField(max_length=32)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=(Q(channel__isnull=False) & Q(user__isnull=True)) | (Q(channel__isnull=True) & Q(user__isnull=False)),
            name="token_for_channel_xor_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class InboundMessage(models.Model):
    """Every payload a channel sent us, stored before it is processed: nothing is lost."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        REJECTED = "rejected"
        DUPLICATE = "duplicate"
        FAILED = "failed"  # an unexpected error (a 500): nothing was placed; the channel may retry

    channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="inbound_messages")
    source = models.CharField(max_length=16, default="api")
    kind = models.CharField(max_length=32, default="order")
    external_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    result = models.JSONField(default=dict, blank=True)
    order_number = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.kind} {self.external_id or self.pk} ({self.status})"



class WebhookDelivery(models.Model):
    """One signed webhook for one event to one channel, retried until delivered. One run at a
    time POSTs it: the run that claimed it (`claimed_at`, channels_sync.webhooks.webhook_claim)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    event = models.ForeignKey("kernel.OutboxEvent", on_delete=models.PROTECT, related_name="+",
                              db_index=False)  # the unique (event, channel) index serves it
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField()
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the run now POSTing it took it; empty when no run is. A claim older than the "
                  "lease (channels_sync.webhooks.claim_lease) is a crashed run's, and the next run takes it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "channel"], name="one_webhook_per_event_channel")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.url} ({self.status})"
