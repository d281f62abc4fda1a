"""Request checks that hold for every view (API, admin, floor screens)."""

from __future__ import annotations

from django.http import JsonResponse


def _without_nul(query):
    """A copy of a QueryDict without NUL characters in names or values."""
    cleaned = query.copy()
    for name, values in query.lists():
        if "\x00" in name:
            del cleaned[name]
        cleaned.setlist(name.replace("\x00", ""), [value.replace("\x00", "") for value in values])
    cleaned._mutable = False
    return cleaned


def _has_nul(query) -> str | None:
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\ufffd")
    return None


class RejectNulInQuery:
    """A NUL character in a query parameter (`?sku=%00`) can match nothing, and Postgres
    refuses it in any text comparison (a 500). The API answers 400 naming the parameter;
    a screen (floor, admin) drops the NUL, as it does in forms (StripNulFromForms)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") and (field := _has_nul(request.GET)) is not None:
            if not request.path_info.startswith("/api/"):
                request.GET = _without_nul(request.GET)
            else:
                return JsonResponse({"code": "invalid", "detail": f"{field}: contains a NUL character",
                                     "field": field}, status=400)
        return self.get_response(request)


class StripNulFromForms:
    """A scanner or a pasted value can carry a NUL character into a form field (the floor
    screens, the admin); Postgres refuses it in any text comparison (a 500 on the handheld).
    A form field never means it: it is dropped, and the scan is judged on the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        form = request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                     "multipart/form-data")
        if form and _has_nul(request.POST) is not None:
            request.POST = _without_nul(request.POST)
        return self.get_response(request)


class ApiOptionalSlash:
    """`POST /api/v1/orders` (no trailing slash) is the most common client slip. Django's
    APPEND_SLASH would answer 301 (which clients follow as a GET, listing orders instead of
    placing one) or, under DEBUG, fail. An API path that resolves only with the slash is
    served as if it had one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            from django.urls import Resolver404, resolve

            try:
                resolve(path)
            except Resolver404:
                try:
                    resolve(path + "/")
                except Resolver404:
                    pass
                else:
                    request.path_info = path + "/"
                    request.path = request.path + "/"
        return self.get_response(request)
