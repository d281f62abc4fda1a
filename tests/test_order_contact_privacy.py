"""An order shows the contact it was placed with, never what the unified customer record
gathered from other channels: a marketplace that sent only an email must not get back the
phone and name the web store was given. Ops still find the one customer across channels, and
the customer's emails go to the order's own contact."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection

from channels_sync.models import InboundMessage
from orders.models import Customer, Order
from tests.conftest import client_with_token
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)

JAN = {"email": "jan@example.com", "phone": "+31 6 11112222", "name": "Jan Jansen"}


def place(client, customer, *, external_id=None, sku="TEE-WHT-M"):
    body = ship_order((sku, 1), external_id=external_id)
    body["customer"] = customer
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_marketplace_sees_only_the_contact_it_sent_not_the_web_stores(network, channel_client,
                                                                        marketplace_client):
    place(channel_client, JAN)

    answer = place(marketplace_client, {"email": "jan@example.com"}, external_id="AMZ-1")

    assert answer["customer"] == {"email": "jan@example.com", "phone": None, "name": ""}
    detail = marketplace_client.get(f"/api/v1/orders/{answer['number']}/")
    assert detail.status_code == 200 and detail.json()["customer"] == answer["customer"]
    listed = marketplace_client.get("/api/v1/orders/").json()["results"]
    assert [o["number"] for o in listed] == [answer["number"]]
    assert "11112222" not in str(listed) and "Jan" not in str(listed) and "Jansen" not in detail.content.decode()


def test_a_marketplace_matched_by_phone_does_not_get_the_email_either(network, channel_client, marketplace_client):
    place(channel_client, JAN)

    answer = place(marketplace_client, {"phone": "06 11112222", "name": "J."}, external_id="AMZ-2")

    assert answer["customer"] == {"email": None, "phone": "+31611112222", "name": "J."}


def test_ops_still_find_one_customer_across_channels(network, channel_client, marketplace_client, admin_client):
    web = place(channel_client, JAN)
    amazon = place(marketplace_client, {"email": "JAN@example.com "}, external_id="AMZ-3")

    customer = Customer.objects.get()
    assert (customer.email, customer.phone, customer.name) == ("jan@example.com", "+31611112222", "Jan Jansen")
    assert set(customer.orders.values_list("number", flat=True)) == {web["number"], amazon["number"]}
    page = admin_client.get(f"/admin/orders/customer/{customer.pk}/change/").content.decode()
    assert web["number"] in page and amazon["number"] in page  # each order, with the contact it gave
    order_page = admin_client.get(f"/admin/orders/order/{Order.objects.get(number=amazon['number']).pk}/change/")
    assert order_page.status_code == 200
    assert "Contact" in order_page.content.decode() and "jan@example.com" in order_page.content.decode()
    found = admin_client.get("/admin/orders/order/", {"q": "+31611112222"}).content.decode()
    assert web["number"] in found  # by the contact of the web order, and...
    assert amazon["number"] in found  # ...by the customer's phone, which the amazon order did not give


def test_an_order_shows_the_name_it_was_placed_with_not_an_older_stored_one(network, channel_client):
    first = place(channel_client, JAN)

    mallory = place(channel_client, {"email": "jan@example.com", "name": "Mallory"})

    assert mallory["customer"] == {"email": "jan@example.com", "phone": None, "name": "Mallory"}
    assert channel_client.get(f"/api/v1/orders/{mallory['number']}/").json()["customer"]["name"] == "Mallory"
    assert channel_client.get(f"/api/v1/orders/{first['number']}/").json()["customer"] == {
        "email": "jan@example.com", "phone": "+31611112222", "name": "Jan Jansen"}
    assert Customer.objects.get().name == "Jan Jansen"  # the unified record keeps what it had


def test_the_contact_is_stored_normalised_as_the_customer_match_normalises_it(network, channel_client):
    answer = place(channel_client, {"email": " Jan@Example.COM ", "phone": "06 1111 2222", "name": "Jan"})

    order = Order.objects.get(number=answer["number"])
    assert (order.contact_email, order.contact_phone, order.contact_name) == (
        "jan@example.com", "+31611112222", "Jan")
    assert answer["customer"] == {"email": "jan@example.com", "phone": "+31611112222", "name": "Jan"}


def test_the_confirmation_goes_to_the_orders_own_contact(network, channel_client, marketplace_client):
    place(channel_client, JAN)
    mail.outbox.clear()

    answer = place(marketplace_client, {"email": "jan@example.com"}, external_id="AMZ-4")

    (sent,) = [m for m in mail.outbox if answer["number"] in m.subject]
    assert sent.to == ["jan@example.com"]
    assert "Hello there" in sent.body and "Jan" not in sent.body


def test_an_order_placed_without_an_email_sends_none_to_the_customers_other_address(network, channel_client,
                                                                                  marketplace_client):
    place(channel_client, JAN)
    mail.outbox.clear()

    answer = place(marketplace_client, {"phone": "+31611112222"}, external_id="AMZ-5")

    assert [m for m in mail.outbox if answer["number"] in m.subject] == []


def test_the_migration_fills_existing_orders_from_what_they_were_placed_with(network, channel_client,
                                                                            marketplace_client):
    """Orders placed before orders kept their contact: from the payload archived with each,
    else (no archive) from the customer record."""
    web = place(channel_client, JAN)
    amazon = place(marketplace_client, {"email": "jan@example.com", "name": " Jan J. "}, external_id="AMZ-6")
    by_phone = place(marketplace_client, {"phone": "06 11112222"}, external_id="AMZ-7")
    unarchived = place(marketplace_client, {"email": "jan@example.com"}, external_id="AMZ-8")
    InboundMessage.objects.filter(order_number=unarchived["number"]).delete()
    Order.objects.update(contact_email="", contact_phone="", contact_name="")  # as before the migration

    backfill = importlib.import_module("orders.migrations.0006_order_contact_backfill")
    backfill.backfill_contacts(apps, type("Editor", (), {"connection": connection})())

    contacts = {o.number: (o.contact_email, o.contact_phone, o.contact_name) for o in Order.objects.all()}
    assert contacts == {
        web["number"]: ("jan@example.com", "+31611112222", "Jan Jansen"),
        amazon["number"]: ("jan@example.com", "", "Jan J."),
        by_phone["number"]: ("", "+31611112222", ""),
        unarchived["number"]: ("jan@example.com", "+31611112222", "Jan Jansen"),  # the best there is
    }


def test_the_list_a_marketplace_reads_shows_no_customer_details(network, channel_client, marketplace):
    from channels_sync.tokens import token_issue

    place(channel_client, JAN)
    reader = client_with_token(token_issue(name="amazon-reader", channel=marketplace)[1])
    place(reader, {"email": "jan@example.com"}, external_id="AMZ-9")

    (row,) = reader.get("/api/v1/orders/").json()["results"]

    assert "customer" not in row
