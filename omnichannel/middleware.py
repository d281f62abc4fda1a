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


class StripNulFromForms:
    """A scanner or a pasted value can carry a NUL character into a form field (the floor
    screens, the admin); Postgres refuses it in any text comparison (a 500 on the handheld).
    A form field never means it: it is dropped, and the scan is judged on the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                 "multipart/form-data"):
            form = request.POST
            if any("\x00" in name or any("\x00" in value for value in values) for name, values in form.lists()):
                cleaned = form.copy()
                for name, values in form.lists():
                    cleaned.setlist(name.replace("\x00", ""), [value.replace("\x00", "") for value in values])
                    if "\x00" in name:
                        del cleaned[name]
                cleaned._mutable = False
                request.POST = cleaned
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
