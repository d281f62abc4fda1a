from django.urls import path

from warehouse.api import views as v

urlpatterns = [
    path("waves/", v.WaveCreateApi.as_view(), name="warehouse-wave-create"),
    path("receipts/", v.SupplierReceiptCreateApi.as_view(), name="warehouse-receipt-create"),
    path("pick-lists/<int:pk>/", v.PickListDetailApi.as_view(), name="warehouse-pick-list"),
]
