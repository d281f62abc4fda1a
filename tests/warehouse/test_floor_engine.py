"""The pure engines: pick walk, box choice, putaway choice."""

from __future__ import annotations

from warehouse.engine import BinSpec, BoxSpec, ItemSpec, Stop, suggest_box, suggest_putaway_bin, walk_order


def test_walk_follows_bin_sequence_then_sku_then_tote():
    stops = [Stop(1, 30, "A-03-2", "RUN", 1), Stop(2, 10, "A-01-1", "TEE", 2), Stop(3, 10, "A-01-1", "TEE", 1),
             Stop(4, 20, "A-02-1", "CAP", 3), Stop(5, 10, "A-01-1", "BELT", 3)]
    assert walk_order(stops) == [5, 3, 2, 4, 1]


BOXES = [BoxSpec(1, 320, 260, 130, 5000, 100), BoxSpec(2, 350, 250, 150, 10000, 200),
         BoxSpec(3, 500, 400, 300, 20000, 400)]


def test_the_smallest_box_that_takes_volume_sides_and_weight():
    tee = ItemSpec(300, 250, 20, 200)
    shoe = ItemSpec(330, 210, 120, 900)
    assert suggest_box([tee], BOXES).key == 1
    assert suggest_box([shoe], BOXES).key == 2  # 330 mm does not lie in the small box
    assert suggest_box([tee, shoe], BOXES).key == 2
    assert suggest_box([ItemSpec(300, 250, 20, 200, quantity=9)], BOXES).key == 3  # 9 tees: volume
    assert suggest_box([ItemSpec(100, 100, 100, 4950)], BOXES).key == 2  # 4950 g + 100 g tare > 5 kg
    assert suggest_box([ItemSpec(600, 100, 100, 100)], BOXES) is None
    assert suggest_box([], BOXES) is None


def test_putaway_prefers_the_bin_holding_the_sku_then_an_empty_bin_in_its_zone():
    bins = [BinSpec(1, "A", 10, 0, 5), BinSpec(2, "A", 20, 3, 3), BinSpec(3, "B", 5, 0, 0), BinSpec(4, "A", 30, 0, 0)]
    assert suggest_putaway_bin(bins) == 2
    without = [b for b in bins if b.key != 2]
    assert suggest_putaway_bin(without, preferred_zone="A") == 4
    assert suggest_putaway_bin(without) == 3
    assert suggest_putaway_bin([BinSpec(1, "A", 10, 0, 5)]) is None
