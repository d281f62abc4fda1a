from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"

    def ready(self) -> None:
        # Bins follow on_hand movements written outside the floor, and check_inventory
        # proves that bins add up to on_hand (explicit hooks, see docs/adr/0005).
        # A stock count asks the floor which reserved units were picked already (ADR 0005).
        from inventory.checks import EXTRA_CHECKS
        from inventory.services import ledger
        from inventory.services.stock import UNITS_PICKED
        from warehouse.checks import bin_violations
        from warehouse.services.binstock import bins_follow_movements
        from warehouse.services.picking import reservations_units_picked

        if bins_follow_movements not in ledger.MOVEMENT_LISTENERS:
            ledger.MOVEMENT_LISTENERS.append(bins_follow_movements)
        if bin_violations not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(bin_violations)
        if reservations_units_picked not in UNITS_PICKED:
            UNITS_PICKED.append(reservations_units_picked)
