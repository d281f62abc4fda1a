from django.urls import path

from channels_sync.api.promise import PromiseApi
from channels_sync.api.views import OrdersApi, OrderWebhookApi

urlpatterns = [
    path("orders/", OrdersApi.as_view(), name="order-list"),
    path("promise/", PromiseApi.as_view(), name="promise"),
    path("channels/<str:code>/webhook/orders/", OrderWebhookApi.as_view(), name="order-webhook"),
]
