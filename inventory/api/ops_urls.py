from django.urls import path

from inventory.api import ops_views as v

urlpatterns = [
    path("stock/receive/", v.StockReceiveApi.as_view(), name="stock-receive"),
    path("stock/adjust/", v.StockAdjustApi.as_view(), name="stock-adjust"),
    path("stock/move/", v.StockMoveApi.as_view(), name="stock-move"),
    path("stock/count/", v.StockCountApi.as_view(), name="stock-count"),
    path("stock/set/", v.StockSetApi.as_view(), name="stock-set"),
    path("stock/export.csv", v.StockExportApi.as_view(), name="stock-export"),
    path("stock/import/", v.StockImportApi.as_view(), name="stock-import"),
    path("transfers/", v.TransferListApi.as_view(), name="transfer-list"),
    path("transfers/<str:number>/", v.TransferDetailApi.as_view(), name="transfer-detail"),
    path("transfers/<str:number>/ship/", v.TransferShipApi.as_view(), name="transfer-ship"),
    path("transfers/<str:number>/receive/", v.TransferReceiveApi.as_view(), name="transfer-receive"),
    path("transfers/<str:number>/cancel/", v.TransferCancelApi.as_view(), name="transfer-cancel"),
    path("holds/", v.HoldCreateApi.as_view(), name="hold-create"),
    path("holds/<int:pk>/", v.HoldDetailApi.as_view(), name="hold-detail"),
    path("pos/sales/", v.PosSaleApi.as_view(), name="pos-sale"),
]
