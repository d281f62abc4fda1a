"""Two pickers scan the same last unit at once: one wins, the bin falls once (Postgres)."""

from __future__ import annotations

import pytest
from django.db import transaction

from omnichannel.errors import DomainError
from tests.conftest import requires_postgres, run_at_once
from tests.warehouse.floor_setup import build_floor, fulfillment_at, in_bin, place, special
from warehouse.checks import bin_violations
from warehouse.models import PickTask
from warehouse.services import picking

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_unit_is_picked_once():
    floor = build_floor()
    order = place(floor, (floor.shirt, 1))
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment_at(order, floor.wh)], kind="single", actor="p")
    task = pick_list.tasks.get()
    outcomes: list[str] = []

    def picker() -> None:
        try:
            with transaction.atomic():
                picking.pick_scan(task, bin_code="WH1-A-01-1", item_code=floor.shirt.barcode, actor="p")
            outcomes.append("picked")
        except DomainError as error:
            outcomes.append(error.code)

    run_at_once(picker, 4)
    assert sorted(outcomes) == ["not_ready", "not_ready", "not_ready", "picked"]
    assert PickTask.objects.get(pk=task.pk).picked == 1
    assert in_bin(floor.bins["A-01-1"], floor.shirt) == 9
    assert in_bin(special(floor.wh, "outbound"), floor.shirt) == 1
    assert bin_violations() == []
