"""What a scanned code is. The scanner types the code and presses Enter."""

from __future__ import annotations

from inventory import selectors as inventory_selectors
from inventory.models import Sku
from warehouse.errors import UnknownCode
from warehouse.models import Bin


def sku_by_scan(code: str) -> Sku:
    """A SKU by its barcode (GTIN/EAN) or its SKU code."""
    code = (code or "").strip()
    sku = inventory_selectors.skus_by_code([code]).get(code) if code else None
    if sku is None:
        raise UnknownCode(f"No item with barcode or SKU code {code!r}.", field="code")
    return sku


def bin_by_scan(location_id: int, code: str) -> Bin | None:
    """A bin of this location by its barcode or its code (people type the code)."""
    code = (code or "").strip()
    if not code:
        return None
    found = Bin.objects.filter(location_id=location_id, barcode=code).first()
    return found or Bin.objects.filter(location_id=location_id, code__iexact=code).first()
