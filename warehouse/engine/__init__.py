"""Pure floor maths (no Django): the pick walk, box choice and putaway choice."""

from warehouse.engine.cartonisation import BoxSpec, ItemSpec, suggest_box
from warehouse.engine.putaway import BinSpec, suggest_putaway_bin
from warehouse.engine.walk import Stop, walk_order

__all__ = ["BinSpec", "BoxSpec", "ItemSpec", "Stop", "suggest_box", "suggest_putaway_bin", "walk_order"]
