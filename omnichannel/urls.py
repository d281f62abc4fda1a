from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def health(request):
    return JsonResponse({"status": "ok"})


def not_found(request, exception):
    """404 in production: JSON for the API (as every other API error), the plain page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": f"No API endpoint at {request.path}.", "field": None},
                            status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


handler404 = not_found


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
