"""Channels admin: ops configure a channel's stock feed (feeding locations and buffer) there."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from channels_sync.models import SalesChannel

pytestmark = pytest.mark.django_db

SHOE = "RUN-BLK-42"


@pytest.fixture
def admin_client_(db) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def change_form(channel: SalesChannel, **changes) -> dict:
    form = {"code": channel.code, "name": channel.name, "kind": channel.kind,
            "short_stock_policy": channel.short_stock_policy, "webhook_url": channel.webhook_url,
            "webhook_secret": "", "pickup_hold_days": channel.pickup_hold_days, "is_active": "on",
            "buffer_units": channel.buffer_units, "buffer_percent": channel.buffer_percent}
    form.update(changes)
    return form


def test_ops_set_a_channels_feeding_locations_and_buffer_in_the_admin(network, web_channel, channel_client,
                                                                      admin_client_):
    url = reverse("admin:channels_sync_saleschannel_change", args=[web_channel.pk])
    page = admin_client_.get(url).content.decode()
    assert 'name="feeding_locations"' in page and 'name="buffer_units"' in page and 'name="buffer_percent"' in page

    response = admin_client_.post(url, change_form(web_channel, feeding_locations=[network["ST1"].pk,
                                                                                   network["ST2"].pk],
                                                   buffer_units=1, buffer_percent="50"))

    assert response.status_code == 302, response.content.decode()[:2000]
    web_channel.refresh_from_db()
    assert sorted(web_channel.feeding_locations.values_list("code", flat=True)) == ["ST1", "ST2"]
    assert (web_channel.buffer_units, web_channel.buffer_percent) == (1, Decimal("50"))
    # the storefront sees it at once: ST1 (3-1)*0.5 = 1, ST2 (2-1)*0.5 -> 0, WH1 does not feed web
    item = channel_client.get("/api/v1/availability/", {"sku": SHOE}).json()["items"][0]
    assert (item["available"], [x["code"] for x in item["locations"]]) == (1, ["ST1"])


@pytest.mark.parametrize("percent", ["-10", "100.01", "150"])
def test_a_buffer_percent_outside_0_to_100_is_refused_in_the_admin(network, web_channel, admin_client_, percent):
    url = reverse("admin:channels_sync_saleschannel_change", args=[web_channel.pk])

    response = admin_client_.post(url, change_form(web_channel, buffer_percent=percent))

    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["buffer_percent"]
    web_channel.refresh_from_db()
    assert web_channel.buffer_percent == Decimal("0")


def test_saving_a_channel_in_the_admin_keeps_its_webhook_secret_and_never_shows_it(web_channel, admin_client_):
    web_channel.webhook_url, web_channel.webhook_secret = "https://shop.example/hooks", "whsec-keep-me-123"
    web_channel.save()
    url = reverse("admin:channels_sync_saleschannel_change", args=[web_channel.pk])

    assert "whsec-keep-me-123" not in admin_client_.get(url).content.decode()
    response = admin_client_.post(url, change_form(web_channel, name="Web shop"))

    assert response.status_code == 302
    web_channel.refresh_from_db()
    assert (web_channel.name, web_channel.webhook_secret) == ("Web shop", "whsec-keep-me-123")
    listing = admin_client_.get(reverse("admin:channels_sync_saleschannel_changelist")).content.decode()
    assert "whsec-keep-me-123" not in listing
