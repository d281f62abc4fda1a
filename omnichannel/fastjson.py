"""JSON responses for hot read endpoints, rendered with orjson.

A DRF `Response` keeps its data in a reference cycle (response -> view -> response), so a
large answer (a cart's availability: thousands of small dicts) lives until the cyclic
garbage collector runs, and those collections are the slow tail of the endpoint. An
`HttpResponse` holding only the rendered bytes frees everything at once, and orjson renders
in a tenth of the time of the standard library.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse


def json_response(payload: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")
