from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def health(request):
    return JsonResponse({"status": "ok"})


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
