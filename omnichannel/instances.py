"""Model instances built without `Model.__init__`, for the hottest paths of capture and routing.

An order POST builds about 20 model instances (the order, its lines, reservations, ledger
rows, allocations, timeline entries, outbox events...) and reads as many; a routing batch,
about 19 an order. `Model.__init__` is generic: it sends `pre_init` and `post_init`, looks
at every field's kind, and pops keyword arguments one by one. It was the largest single
item of an order POST's profile (about 6% of its CPU, `bench/post_cost.py`).

`new(Model, **values)` is `Model(**values)` and `loaded(Model, db, values)` is
`Model.from_db(db, None, values)` for every column's value: same attributes, same cached
related objects (a related instance is set through its descriptor, which checks its type),
same `_state`. Where the short way could differ, Django's own is taken: a model with its own
`__init__`, a field whose attribute is not a plain deferred attribute (files, images), a
receiver of `pre_init`/`post_init`, an argument that is not a concrete field (a property),
or `DEFERRED`. tests/test_kernel_instances.py compares both ways on every model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import DEFERRED, Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)

# Per model: None (use Django's way), or (attnames in concrete-field order, and per field of
# `_meta.fields` with a column: (attname, name for a relation else None, field)).
_Plan = tuple[tuple[str, ...], tuple[tuple[str, str | None, Any], ...]]
_PLANS: dict[type[Model], _Plan | None] = {}
_PLAIN = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _plan(model: type[Model]) -> _Plan | None:
    if model not in _PLANS:
        opts = model._meta
        fields = [f for f in opts.fields if f.column is not None and not f.generated]
        plain = (model.__init__ is Model.__init__ and not opts.abstract
                 and all(type(getattr(model, f.attname, None)) in _PLAIN for f in opts.concrete_fields)
                 and {f.attname for f in fields} == {f.attname for f in opts.concrete_fields})
        _PLANS[model] = (
            tuple(f.attname for f in opts.concrete_fields),
            tuple((f.attname, f.name if f.is_relation else None, f) for f in fields),
        ) if plain else None
    return _PLANS[model]


def _signalled() -> bool:
    return bool(pre_init.receivers or post_init.receivers)


def new(model: type[M], **values: Any) -> M:
    """`model(**values)` for concrete fields (by name or attname), faster."""
    plan = _plan(model)
    if plan is None or _signalled() or DEFERRED in values.values():
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    attrs = obj.__dict__
    related: list[tuple[str, Any]] = []
    taken = 0
    for attname, name, field in plan[1]:
        if name is not None and name in values:
            related.append((name, values[name]))
            taken += 1
        elif attname in values:
            attrs[attname] = values[attname]
            taken += 1
        else:
            attrs[attname] = field.get_default()
    if taken != len(values):  # a property, a non-concrete field, a typo: Django's way says what
        return model(**values)
    for name, value in related:
        setattr(obj, name, value)  # the descriptor: type check, key, cache (and a one-to-one's reverse)
    return obj


def loaded(model: type[M], db: str, values: Any) -> M:
    """`model.from_db(db, None, values)` with a value read for every concrete field, faster."""
    plan = _plan(model)
    if plan is None or _signalled() or len(values) != len(plan[0]):
        return model.from_db(db, None, values)  # type: ignore[arg-type]
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding = False
    state.db = db
    obj.__dict__.update(zip(plan[0], values, strict=True))
    return obj
