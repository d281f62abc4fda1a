"""Request checks that hold for every view (API, admin, floor screens)."""

from __future__ import annotations

from django.http import HttpResponseNotFound, JsonResponse


def _without_nul(query):
    """A copy of a QueryDict without NUL characters in names or values."""
    cleaned = query.copy()
    for name, values in query.lists():
        del cleaned[name]
        cleaned.setlist(name.replace("\x00", ""), [value.replace("\x00", "") for value in values])
    cleaned._mutable = False
    return cleaned


def _has_nul(query) -> str | None:
    """The first parameter with a NUL in its name or a value (NUL shown as U+FFFD), else None."""
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\ufffd")
    return None


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulCharacters:
    """A NUL character in a query parameter (`?sku=%00`) or a form field (a scanner's control
    character, a paste) can mean nothing, and Postgres refuses it in any text comparison (a
    500). The API answers 400 naming the parameter; the screens (floor, admin) drop the NUL
    and judge the scan on the rest. In the path (`/api/v1/orders/OC-%00X/`) it can name no
    object: 404.

    An API body is left alone, to be read by DRF's parsers (JSON, or the CSV import's form),
    which answer what they cannot read in the API's error shape: reading `request.POST` here
    raised Django's own errors (a body over the size limit, a broken multipart) as HTML pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith("/api/")
        if "\x00" in request.path_info:  # no order number, tracking number or code has one: nothing is there
            if api:
                return JsonResponse({"code": "not_found", "detail": "Not found.", "field": None}, status=404)
            return HttpResponseNotFound("Not found.")
        if "%00" in request.META.get("QUERY_STRING", "") and (field := _has_nul(request.GET)) is not None:
            if api:
                return JsonResponse({"code": "invalid", "detail": f"{field}: contains a NUL character",
                                     "field": field}, status=400)
            request.GET = _without_nul(request.GET)
        if (not api and request.method == "POST" and request.content_type in FORMS
                and _has_nul(request.POST) is not None):
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
