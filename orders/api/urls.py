from django.urls import path

from orders.api import routing_views as r
from orders.api import views as v

urlpatterns = [
    path("orders/<str:number>/", v.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/reroute/", r.OrderRerouteApi.as_view(), name="order-reroute"),
    path("routing/rule-sets/", r.RuleSetListApi.as_view(), name="rule-set-list"),
    path("routing/rule-sets/<int:pk>/simulate/", r.RuleSetSimulateApi.as_view(), name="rule-set-simulate"),
    path("routing/rule-sets/<int:pk>/activate/", r.RuleSetActivateApi.as_view(), name="rule-set-activate"),
    path("orders/<str:number>/cancel/", v.OrderCancelApi.as_view(), name="order-cancel"),
    path("fulfillments/", v.FulfillmentListApi.as_view(), name="fulfillment-list"),
    path("fulfillments/<int:pk>/", v.FulfillmentDetailApi.as_view(), name="fulfillment-detail"),
    path("fulfillments/<int:pk>/accept/", v.FulfillmentAcceptApi.as_view(), name="fulfillment-accept"),
    path("fulfillments/<int:pk>/reject/", v.FulfillmentRejectApi.as_view(), name="fulfillment-reject"),
    path("fulfillments/<int:pk>/start-picking/", v.FulfillmentStartPickingApi.as_view(),
         name="fulfillment-start-picking"),
    path("fulfillments/<int:pk>/picked/", v.FulfillmentPickedApi.as_view(), name="fulfillment-picked"),
    path("fulfillments/<int:pk>/pack/", v.FulfillmentPackApi.as_view(), name="fulfillment-pack"),
    path("fulfillments/<int:pk>/ship/", v.FulfillmentShipApi.as_view(), name="fulfillment-ship"),
    path("fulfillments/<int:pk>/ready-for-pickup/", v.FulfillmentReadyForPickupApi.as_view(),
         name="fulfillment-ready-for-pickup"),
    path("fulfillments/<int:pk>/collect/", v.FulfillmentCollectApi.as_view(), name="fulfillment-collect"),
    path("shipments/<str:tracking_number>/label.pdf", v.ShipmentLabelApi.as_view(), name="shipment-label"),
]
