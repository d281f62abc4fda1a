"""`omnichannel.instances`: the short way to build model instances gives what Django's gives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.db.models.signals import post_init

from inventory.models import Location, StockMovement
from omnichannel.instances import loaded, new
from orders.models import Allocation, Order, OrderEvent, OrderLine
from tests import factories

pytestmark = pytest.mark.django_db

OURS = [m for m in apps.get_models() if m.__module__.split(".")[0] in
        {"orders", "inventory", "warehouse", "transport", "channels_sync", "omnichannel"}]


def _state(obj) -> tuple:
    return obj._state.adding, obj._state.db, dict(obj._state.fields_cache)


def _attrs(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


def _sample(field: models.Field):
    """A value of the field's type, as read from the database."""
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DecimalField):
        return Decimal("12.50")
    if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
        return 7
    if isinstance(field, models.FloatField):
        return 1.5
    if isinstance(field, models.DateTimeField):
        return datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    if isinstance(field, models.DateField):
        return datetime(2026, 11, 30).date()
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=5)
    if isinstance(field, models.JSONField):
        return {"a": [1, 2]}
    return "x"


@pytest.mark.parametrize("model", OURS, ids=lambda m: m.__name__)
def test_loaded_equals_from_db_on_every_model(model):
    values = [_sample(f) for f in model._meta.concrete_fields]
    ours, django = loaded(model, "default", list(values)), model.from_db("default", None, list(values))
    assert type(ours) is model
    assert _attrs(ours) == _attrs(django)
    assert list(_attrs(ours)) == list(_attrs(django))
    assert _state(ours) == _state(django) == (False, "default", {})
    assert ours.pk == django.pk == values[[f.attname for f in model._meta.concrete_fields].index(model._meta.pk.attname)]


@pytest.mark.parametrize("model", OURS, ids=lambda m: m.__name__)
def test_new_with_no_values_equals_the_constructor_on_every_model(model):
    ours, django = new(model), model()
    mine, theirs = _attrs(ours), _attrs(django)
    assert mine.keys() == theirs.keys()
    for name, value in theirs.items():  # a callable default (a uuid, now) differs call to call: compare types
        assert mine[name] == value or type(mine[name]) is type(value), name
    assert _state(ours) == _state(django) == (True, None, {})


def test_new_sets_plain_values_related_instances_and_ids_as_the_constructor_does():
    order = Order(pk=11, number="ORD-11")
    line = OrderLine(pk=12, order=order, line_number=1, quantity=2)
    location = factories.LocationFactory()
    values = {"order_line": line, "location_id": location.pk, "quantity": 2, "reservation": None}
    ours, django = new(Allocation, **values), Allocation(**values)
    assert _attrs(ours) == _attrs(django)
    assert ours.order_line is line and ours.order_line_id == line.pk
    assert ours._state.fields_cache == django._state.fields_cache == {"order_line": line, "reservation": None}

    event = {"order": order, "type": "order.placed", "payload": {"n": 1}, "actor": "api"}
    assert _attrs(new(OrderEvent, **event)) | {"created_at": None} == _attrs(OrderEvent(**event)) | {"created_at": None}

    movement = {"stock_level_id": 3, "state": "reserved", "delta": 2, "reason": "reserve"}
    assert _attrs(new(StockMovement, **movement)) == _attrs(StockMovement(**movement))


def test_new_refuses_what_the_constructor_refuses():
    with pytest.raises(TypeError, match="unexpected keyword"):
        new(StockMovement, stock_level_id=1, no_such_field=2)
    with pytest.raises(ValueError, match="must be a"):
        new(Allocation, order_line=Location(code="X"))  # the descriptor's type check


def test_an_unsaved_related_instance_is_cached_and_its_key_taken_later():
    order = Order(number="ORD-X")
    event = new(OrderEvent, order=order, type="order.placed")
    assert event.order is order and event.order_id is None


def test_a_post_init_receiver_gets_every_instance(monkeypatch):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=StockMovement)
    try:
        made = new(StockMovement, stock_level_id=1, state="on_hand", delta=1, reason="receive")
        read = loaded(StockMovement, "default", [_sample(f) for f in StockMovement._meta.concrete_fields])
    finally:
        post_init.disconnect(receiver, sender=StockMovement)
    assert seen == [made, read] and made is not read
