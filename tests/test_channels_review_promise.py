"""POST /api/v1/promise/: a 400 names the caller's own cart line."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

DAMRAK = {"latitude": 52.3760, "longitude": 4.8970}


def test_an_unknown_sku_after_a_repeated_line_is_named_by_its_own_index(network, channel_client):
    cart = [{"sku": "RUN-BLK-42", "quantity": 1}, {"sku": "RUN-BLK-42", "quantity": 1},
            {"sku": "TEE-WHT-M", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]

    response = channel_client.post("/api/v1/promise/", {"cart": cart, **DAMRAK}, format="json")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("unknown_sku", "cart[3].sku")


def test_an_unknown_sku_repeated_is_named_by_its_first_line(network, channel_client):
    cart = [{"sku": "RUN-BLK-42", "quantity": 1}, {"sku": "RUN-BLK-42", "quantity": 1},
            {"sku": "NOPE", "quantity": 1}, {"sku": "NOPE", "quantity": 2}]

    response = channel_client.post("/api/v1/promise/", {"cart": cart, **DAMRAK}, format="json")

    assert (response.status_code, response.json()["field"]) == (400, "cart[2].sku")
