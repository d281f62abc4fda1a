from django.urls import path

from channels_sync.api.availability import AvailabilityApi, AvailabilityNearbyApi

urlpatterns = [
    path("availability/", AvailabilityApi.as_view(), name="availability"),
    path("availability/nearby/", AvailabilityNearbyApi.as_view(), name="availability-nearby"),
]
