from django.core.management.base import BaseCommand, CommandError

from inventory.checks import inventory_violations
from inventory.models import StockLevel


class Command(BaseCommand):
    help = "Prove the inventory invariants: each quantity equals its ledger, reserved equals open reservations."

    def handle(self, *args, **options):
        violations = inventory_violations()
        if violations:
            for v in violations:
                self.stderr.write(str(v))
            raise CommandError(f"{len(violations)} inventory invariant violation(s).")
        self.stdout.write(self.style.SUCCESS(f"OK: {StockLevel.objects.count()} stock levels, all invariants hold."))
