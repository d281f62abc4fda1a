from __future__ import annotations

import pytest

from tests.warehouse.floor_setup import build_floor


@pytest.fixture
def floor(db):
    return build_floor()
