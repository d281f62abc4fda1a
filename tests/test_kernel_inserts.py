"""`insert_unless_conflict`: one INSERT that reports a unique clash instead of failing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from omnichannel.inserts import insert_unless_conflict
from orders.models import Customer, Order

pytestmark = pytest.mark.django_db


def test_a_new_row_is_written_with_its_pk_and_defaults():
    customer = Customer(email="eva@example.com", name="Eva")
    assert insert_unless_conflict(customer) is True
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.email, stored.name) == ("eva@example.com", "Eva")
    assert stored.created_at is not None and stored.created_at == customer.created_at  # auto_now_add


def test_a_clash_writes_nothing_and_leaves_the_transaction_usable():
    Customer.objects.create(email="eva@example.com", phone="+31612345678")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert insert_unless_conflict(Customer(email="eva@example.com")) is False
        assert insert_unless_conflict(Customer(phone="+31612345678"), ["phone"]) is False
        assert Customer.objects.count() == 1  # still usable: the clash did not abort the transaction
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert insert_unless_conflict(Customer(email="daan@example.com", phone="+31687654321")) is True
    assert Customer.objects.count() == 2


def test_a_clash_on_other_fields_than_the_named_ones_still_raises():
    Customer.objects.create(email="eva@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_unless_conflict(Customer(email="eva@example.com"), ["phone"])


def test_other_integrity_errors_raise():
    with pytest.raises(IntegrityError), transaction.atomic():  # a pickup order needs its location
        insert_unless_conflict(Order(number="OC-CHECK", channel_id=1, customer_id=1, delivery_method="pickup"))
