"""Request checks that hold for every view (API, admin, floor screens)."""

from __future__ import annotations

from django.http import JsonResponse


class RejectNulInQuery:
    """A NUL character in a query parameter (`?sku=%00`) can match nothing, and Postgres
    refuses it in any text comparison (a 500). Answer 400 naming the parameter instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", ""):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    field = name.replace("\x00", "\ufffd")
                    return JsonResponse({"code": "invalid", "detail": f"{field}: contains a NUL character",
                                         "field": field}, status=400)
        return self.get_response(request)
