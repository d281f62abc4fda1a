"""The OpenAPI schema behind /api/docs/: it builds without warnings, documents how to
authenticate, and shows the list endpoints' filters."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_builds_without_a_warning_and_documents_the_token(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(path))  # raises on any warning
    schema = yaml.safe_load(path.read_text())
    token = schema["components"]["securitySchemes"]["ApiToken"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    orders = schema["paths"]["/api/v1/orders/"]
    assert {"ApiToken": []} in orders["post"]["security"]
    assert {"status", "placed_after", "limit"} <= {p["name"] for p in orders["get"]["parameters"]}
    assert "OrderStatusEnum" in schema["components"]["schemas"]


def test_the_docs_and_the_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    response = client.get("/api/schema/")
    assert response.status_code == 200 and b"ApiToken" in response.content
