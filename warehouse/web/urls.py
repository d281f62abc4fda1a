"""/wms/: the floor screens."""

from django.urls import path

from warehouse.web import views as v

app_name = "wms"

urlpatterns = [
    path("", v.home, name="home"),
    path("login/", v.LoginView.as_view(), name="login"),
    path("logout/", v.logout_view, name="logout"),
    path("location/", v.choose_location, name="choose-location"),
    path("waves/", v.waves, name="waves"),
    path("pick/", v.pick_lists, name="pick-lists"),
    path("pick/<int:pk>/", v.pick, name="pick"),
    path("pack/", v.pack_start, name="pack-start"),
    path("pack/<int:pk>/", v.pack, name="pack"),
    path("pack/<int:pk>/label.pdf", v.label_pdf, name="label"),
    path("pack/<int:pk>/slip.pdf", v.slip_pdf, name="slip"),
    path("manifest/", v.manifest_view, name="manifest"),
    path("pickup/", v.pickup_search, name="pickup"),
    path("pickup/<int:pk>/", v.pickup_handover, name="pickup-handover"),
    path("returns/", v.returns_start, name="returns"),
    path("returns/<int:pk>/", v.return_view, name="return"),
    path("receiving/", v.receiving_list, name="receiving"),
    path("receiving/<int:pk>/", v.receipt_view, name="receipt"),
    path("putaway/<int:pk>/", v.putaway, name="putaway"),
]
