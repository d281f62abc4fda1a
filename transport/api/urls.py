from django.urls import path

from transport.api.views import TrackingEventCreateApi

urlpatterns = [
    path("shipments/<str:tracking_number>/events/", TrackingEventCreateApi.as_view(), name="shipment-events"),
]
