"""Printed paper of the floor: the packing slip (reportlab, A4)."""

from __future__ import annotations

from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from orders.models import Fulfillment
from warehouse.models import PackingBox


def packing_slip_pdf(fulfillment: Fulfillment, boxes: list[PackingBox]) -> bytes:
    """One page: who it is for, and per box what is in it."""
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"Packing slip {fulfillment.number}")
    order = fulfillment.order
    y = A4[1] - 20 * mm
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, y, f"Packing slip {fulfillment.number}")
    pdf.setFont("Helvetica", 11)
    lines = [f"Order {order.number}", order.ship_name or order.contact_name or "",
             order.ship_line1, f"{order.ship_postal_code} {order.ship_city}".strip(),
             f"From {fulfillment.location.name}"]
    for text in [t for t in lines if t]:
        y -= 7 * mm
        pdf.drawString(20 * mm, y, text)
    for box in boxes:
        y -= 12 * mm
        pdf.setFont("Helvetica-Bold", 12)
        label = box.box_type.name if box.box_type else "box"
        pdf.drawString(20 * mm, y, f"Package {box.sequence} ({label})")
        pdf.setFont("Helvetica", 11)
        for item in box.items.all():
            y -= 6 * mm
            pdf.drawString(26 * mm, y, f"{item.quantity} x {item.sku.code}  {item.sku.name}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
