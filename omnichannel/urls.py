from django.contrib import admin
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from omnichannel.api import body_too_large_detail, error_json


def health(request):
    return JsonResponse({"status": "ok"})


# Django's error pages in production (DEBUG off; under DEBUG Django shows its debug pages
# instead): the API answers them in its error shape, as every other API error, and the admin
# and the floor screens keep the HTML pages. Django logs the exception before it calls them.

def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request, exception):
    """A request Django could not read before any view ran: a body over DATA_UPLOAD_MAX_MEMORY_SIZE
    (413), too many form fields, a broken multipart body, a Host not allowed (400)."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_json(413, "payload_too_large", body_too_large_detail())
    return error_json(400, "bad_request", "The request could not be read.")


def permission_denied(request, exception):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return error_json(403, "permission_denied", "You do not have permission to perform this action.")


def not_found(request, exception):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return error_json(404, "not_found", f"No API endpoint at {request.path}.")


def server_error(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return error_json(500, "server_error", "A server error occurred.")


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error


api_v1 = [
    path("", include("channels_sync.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("transport.api.urls")),
    path("", include("inventory.api.ops_urls")),
    path("", include("channels_sync.api.availability_urls")),
    path("", include("inventory.api.replenishment_urls")),
    path("warehouse/", include("warehouse.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("wms/", include("warehouse.web.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health/", health, name="health"),
]
