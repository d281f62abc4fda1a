from django.urls import path

from inventory.api.replenishment import ReplenishmentApi, ReplenishmentTransferApi

urlpatterns = [
    path("replenishment/", ReplenishmentApi.as_view(), name="replenishment"),
    path("replenishment/transfers/", ReplenishmentTransferApi.as_view(), name="replenishment-transfer"),
]
