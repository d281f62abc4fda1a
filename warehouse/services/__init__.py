"""Every write to the warehouse app. Callers hold a transaction unless a function says otherwise.

This package's top level holds only what lower layers may call (orders packs through
`package_create` and, packing again, voids the packages it replaces through `packages_void`,
a cancel takes the order off the floor and puts the picked units back through
`bins_put_back_cancelled`, a rejection takes the fulfillment off the floor through
`pick_work_withdraw`);
the floor workflows that drive a fulfillment through orders (picking, packing, pickup,
returns) live in their own modules, imported by the entry points (`warehouse.web`,
`warehouse.api`, `warehouse.tasks`) — see docs/adr/0005.
"""

from warehouse.services.binstock import bins_follow_movements, bins_units_arrived, bins_units_left
from warehouse.services.packages import package_create, packages_void
from warehouse.services.putback import bins_put_back_cancelled, pick_work_withdraw

__all__ = ["bins_follow_movements", "bins_put_back_cancelled", "bins_units_arrived", "bins_units_left",
           "package_create", "packages_void", "pick_work_withdraw"]
