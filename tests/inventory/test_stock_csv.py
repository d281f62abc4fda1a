"""Stock levels as CSV: export, and an import that changes everything or nothing (service,
API and admin), reporting each bad row with its line number."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import ImportRejected
from inventory.models import StockLevel, StockMovement
from inventory.services import ReserveRequest

pytestmark = pytest.mark.django_db

HEADER = "sku,location,on_hand,safety_stock,damaged,quality_control,reorder_point,reorder_target,available"


def snapshot():
    return (StockMovement.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("sku_id", "location_id", "on_hand", "safety_stock",
                                                               "damaged", "quality_control", "reorder_point",
                                                               "reorder_target")))


def export() -> list[dict[str, str]]:
    out = io.StringIO()
    services.stock_export(out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def level_values(network, sku: str, location: str) -> tuple[int, ...]:
    return StockLevel.objects.filter(sku=network[sku], location=network[location]).values_list(
        "on_hand", "safety_stock", "damaged", "quality_control", "reorder_point", "reorder_target").get()


def test_export_writes_every_level_with_available(network):
    shoe = StockLevel.objects.get(sku=network["shoe"], location=network["WH1"])
    services.stock_reserve([ReserveRequest(shoe.pk, 4, "1")], reference_type="order_line")
    services.stock_move_state(shoe, "available", "damaged", 1, "dropped")

    rows = export()

    assert len(rows) == 6
    assert list(rows[0]) == HEADER.split(",")
    assert rows[0] == {"sku": "RUN-BLK-42", "location": "ST1", "on_hand": "3", "safety_stock": "0", "damaged": "0",
                       "quality_control": "0", "reorder_point": "0", "reorder_target": "0", "available": "3"}
    assert [r for r in rows if r["location"] == "WH1" and r["sku"] == "RUN-BLK-42"][0]["available"] == "15"


def test_import_sets_values_through_movements(network):
    text = ("sku,location,on_hand,safety_stock,reorder_point,reorder_target\n"
            "RUN-BLK-42,WH1,25,2,5,30\n"
            "8712345000024,ST1,4,,,\n")  # a barcode; a new stock level; empty cells leave values alone

    result = services.stock_import(text, actor="ops:ann")

    assert (result.rows, result.levels_created, result.levels_changed, result.movements) == (2, 1, 2, 3)
    assert level_values(network, "shoe", "WH1") == (25, 2, 0, 0, 5, 30)
    assert level_values(network, "shirt", "ST1") == (4, 0, 0, 0, 0, 0)
    assert sorted(StockMovement.objects.filter(reason="import", reference_id=result.batch)
                  .values_list("stock_level__sku__code", "state", "delta")) == [
        ("RUN-BLK-42", "on_hand", 5), ("RUN-BLK-42", "safety_stock", 2), ("TEE-WHT-M", "on_hand", 4)]
    assert inventory_violations() == []


def test_an_export_imports_back_without_changing_anything(network):
    out = io.StringIO()
    services.stock_export(out)
    before = snapshot()

    result = services.stock_import(out.getvalue())

    assert (result.rows, result.levels_changed, result.movements) == (6, 0, 0)
    assert snapshot() == before


def test_a_file_with_bad_rows_changes_nothing_and_lists_each_with_its_line(network):
    shoe = StockLevel.objects.get(sku=network["shoe"], location=network["ST1"])
    services.stock_reserve([ReserveRequest(shoe.pk, 2, "1")], reference_type="order_line")
    text = "\n".join([
        "sku,location,on_hand,damaged",
        "RUN-BLK-42,WH1,30,",           # 2: fine on its own
        "NOPE-1,WH1,3,",                # 3: unknown sku
        "RUN-BLK-42,XX9,3,",            # 4: unknown location
        "TEE-WHT-M,WH1,many,",          # 5: not a number
        "TEE-WHT-M,ST2,-1,",            # 6: negative
        "",                             # 7: blank lines are skipped
        "RUN-BLK-42,ST1,1,",            # 8: below reserved 2
        "8712345000017,WH1,31,",        # 9: the barcode of line 2's SKU: a duplicate
        "TEE-WHT-M,ST9,5,6",            # 10: damaged above on_hand
        "TEE-WHT-M,ST9",                # 11: too few cells
    ])
    before = snapshot()

    with pytest.raises(ImportRejected) as error:
        services.stock_import(text)

    assert error.value.status == 400
    assert [(e.line, e.field, e.reason) for e in error.value.errors] == [
        (3, "sku", "unknown sku 'NOPE-1'"),
        (4, "location", "unknown location 'XX9'"),
        (5, "on_hand", "on_hand 'many' is not a whole number"),
        (6, "on_hand", "on_hand -1 is negative"),
        (8, "on_hand", "on_hand 1 is below reserved 2 + damaged 0 + quality_control 0"),
        (9, "sku", "duplicate of line 2 (RUN-BLK-42 @ WH1)"),
        (10, "on_hand", "on_hand 5 is below reserved 0 + damaged 6 + quality_control 0"),
        (11, "", "2 cells, the header has 4"),
    ]
    assert snapshot() == before


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the header must name the columns sku and location"),
    ("sku,on_hand\nRUN-BLK-42,1\n", "the header must name the columns sku and location"),
    ("sku,location,colour\nRUN-BLK-42,WH1,red\n", "unknown column(s): colour"),
    ("sku,location,on_hand,on_hand\nRUN-BLK-42,WH1,1,2\n", "column(s) named twice: on_hand"),
])
def test_a_bad_header_is_line_1(network, text, reason):
    with pytest.raises(ImportRejected) as error:
        services.stock_import(text)
    assert [(e.line, e.reason) for e in error.value.errors] == [(1, reason)]


def test_a_file_with_no_rows_is_refused(network):
    with pytest.raises(ImportRejected) as error:
        services.stock_import("sku,location,on_hand\n")
    assert error.value.errors[0].reason == "the file has no rows"


def test_reorder_target_below_point_is_a_bad_row(network):
    with pytest.raises(ImportRejected) as error:
        services.stock_import("sku,location,reorder_point,reorder_target\nRUN-BLK-42,WH1,10,4\n")
    assert [(e.line, e.field) for e in error.value.errors] == [(2, "reorder_target")]


def test_a_value_above_a_million_units_is_a_bad_row(network):
    text = ("sku,location,on_hand,reorder_point,reorder_target\n"
            "RUN-BLK-42,WH1,1000000,,\n"              # 2: the most a row may say
            "TEE-WHT-M,WH1,3000000000,,\n"            # 3: beyond an integer column (a 500 on Postgres)
            "TEE-WHT-M,ST2,,,99999999999999999999\n")  # 4: beyond any integer (a 500 on SQLite too)
    before = snapshot()

    with pytest.raises(ImportRejected) as error:
        services.stock_import(text)

    assert [(e.line, e.field, e.reason) for e in error.value.errors] == [
        (3, "on_hand", "on_hand 3000000000 is above 1000000"),
        (4, "reorder_target", "reorder_target 99999999999999999999 is above 1000000"),
    ]
    assert snapshot() == before


# --- API ---------------------------------------------------------------------------------------------------


def test_api_export_is_csv_for_ops(network, ops_client):
    response = ops_client.get("/api/v1/stock/export.csv?location=ST2")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines == [HEADER, "RUN-BLK-42,ST2,2,0,0,0,0,0,2", "TEE-WHT-M,ST2,5,0,0,0,0,0,5"]


def test_api_import_as_a_text_csv_body(network, ops_client):
    response = ops_client.post("/api/v1/stock/import/", data="sku,location,on_hand\nRUN-BLK-42,ST2,7\n",
                               content_type="text/csv")

    assert response.status_code == 200, response.content
    assert response.json()["rows"] == 1 and response.json()["movements"] == 1
    assert level_values(network, "shoe", "ST2")[0] == 7
    movement = StockMovement.objects.get(reason="import")
    assert movement.actor == "ops:ops"


def test_api_import_as_a_multipart_file(network, ops_client):
    upload = SimpleUploadedFile("stock.csv", b"\xef\xbb\xbfsku,location,safety_stock\nTEE-WHT-M,ST9,3\n", "text/csv")

    response = ops_client.post("/api/v1/stock/import/", {"file": upload}, format="multipart")

    assert response.status_code == 200, response.content
    assert level_values(network, "shirt", "ST9")[1] == 3


def test_api_import_with_bad_rows_is_400_listing_them(network, ops_client):
    before = snapshot()

    response = ops_client.post("/api/v1/stock/import/", data="sku,location,on_hand\nRUN-BLK-42,WH1,1\nX,WH1,1\n",
                               content_type="text/csv")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("import_rejected", "file")
    assert body["errors"] == [{"line": 3, "field": "sku", "reason": "unknown sku 'X'"}]
    assert snapshot() == before


def test_api_import_with_a_nul_character_is_400_not_500(network, ops_client):
    before = snapshot()

    response = ops_client.post("/api/v1/stock/import/", data="sku,location,on_hand\nRUN-BLK-42,WH1,1\nRUN\x00,WH1,1\n",
                               content_type="text/csv")

    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("import_rejected", "file")
    assert body["errors"] == [{"line": 3, "field": "", "reason": "contains a NUL character"}]
    assert snapshot() == before


def test_api_import_without_a_file_is_400(network, ops_client):
    response = ops_client.post("/api/v1/stock/import/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["field"] == "file"


def test_csv_endpoints_are_for_ops_only(network, picker_client_for, channel_client):
    picker = picker_client_for(network["ST1"])
    before = snapshot()
    for client in (picker, channel_client):
        assert client.get("/api/v1/stock/export.csv").status_code == 403
        assert client.post("/api/v1/stock/import/", data="sku,location,on_hand\nRUN-BLK-42,ST1,9\n",
                           content_type="text/csv").status_code == 403
    assert snapshot() == before


# --- admin -------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", None)
    client.force_login(user)
    return client


def test_admin_import_page_imports_a_file(network, admin_client):
    url = reverse("admin:inventory_stocklevel_import")
    assert admin_client.get(url).status_code == 200
    assert url in admin_client.get(reverse("admin:inventory_stocklevel_changelist")).content.decode()

    upload = SimpleUploadedFile("s.csv", b"sku,location,on_hand\nRUN-BLK-42,ST1,9\n", "text/csv")
    response = admin_client.post(url, {"file": upload}, follow=True)

    assert response.status_code == 200
    assert "Imported 1 row(s)" in response.content.decode()
    assert level_values(network, "shoe", "ST1")[0] == 9


def test_admin_import_page_lists_bad_rows_and_changes_nothing(network, admin_client):
    before = snapshot()
    upload = SimpleUploadedFile("s.csv", b"sku,location,on_hand\nRUN-BLK-42,ST1,9\nRUN-BLK-42,ST1,8\n", "text/csv")

    html = admin_client.post(reverse("admin:inventory_stocklevel_import"), {"file": upload}).content.decode()

    assert "<td>3</td><td>sku</td><td>duplicate of line 2 (RUN-BLK-42 @ ST1)</td>" in html
    assert snapshot() == before


def test_admin_export_action_downloads_the_selected(network, admin_client):
    selected = StockLevel.objects.filter(location=network["ST9"]).values_list("pk", flat=True)

    response = admin_client.post(reverse("admin:inventory_stocklevel_changelist"),
                                 {"action": "export_csv", "_selected_action": list(selected)})

    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [HEADER, "TEE-WHT-M,ST9,10,0,0,0,0,0,10"]
