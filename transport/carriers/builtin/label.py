"""4x6 inch PDF shipping labels (one page per parcel), drawn with reportlab.

Why these choices:

* 4x6 in (101.6 x 152.4 mm) is the thermal-label size every desktop label
  printer takes; the layout keeps a ~9 pt margin for printers that clip.
* The barcode is Code 128 of the tracking number with human-readable text,
  sized so one module is >= 1 pt (about 2.8 px at 203 dpi) and the quiet zones
  are >= 10 modules, which is what scanners need to read it first time.
* Output is byte-for-byte deterministic for the same input (reportlab
  invariant mode pins creation dates and document ids), so labels can be
  regenerated on demand, hashed, and compared in tests. Everything that varies
  (e.g. the generated-at time) is an explicit input.
* The standard PDF fonts only cover Windows-1252, so text outside it is
  transliterated ("Łódź" -> "Lódz") instead of printing as dingbats; drivers
  must be able to read the address.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from transport.carriers.base import Address

__all__ = ["LABEL_SIZE", "LabelData", "LabelParcel", "render_label_pdf"]

LABEL_SIZE = (4 * inch, 6 * inch)
_WIDTH, _HEIGHT = LABEL_SIZE
_MARGIN = 9.0
_CONTENT_WIDTH = _WIDTH - 2 * _MARGIN
_REGULAR, _BOLD = "Helvetica", "Helvetica-Bold"
_MAX_MODULE_PT = 2.0
_BARCODE_HEIGHT = 1.0 * inch
_QUIET_MODULES = 10
# Letters with no Unicode decomposition to a Latin base letter.
_TRANSLITERATE = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"})


@dataclass(frozen=True)
class LabelParcel:
    """What is printed for one parcel (one page)."""

    tracking_number: str
    weight_grams: int


@dataclass(frozen=True)
class LabelData:
    """Everything a label shows; rendering reads nothing else (hence deterministic)."""

    carrier_name: str
    service_code: str
    service_name: str
    sender: Address
    recipient: Address
    parcels: tuple[LabelParcel, ...]
    master_tracking_number: str
    reference: str
    ship_date: date
    generated_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "parcels", tuple(self.parcels))
        if not self.parcels:
            raise ValueError("a label needs at least one parcel")


def render_label_pdf(data: LabelData) -> bytes:
    """Render all pages (parcel i of n on page i) and return the PDF bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LABEL_SIZE, invariant=1, pageCompression=1)
    canvas.setTitle(f"Shipping label {data.master_tracking_number}")
    canvas.setAuthor(printable(data.carrier_name))
    canvas.setCreator("Omnichannel built-in carrier")
    canvas.setSubject(printable(f"{data.service_name} {data.reference}".strip()))
    for index, parcel in enumerate(data.parcels, start=1):
        _draw_page(canvas, data, parcel, index)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --------------------------------------------------------------------------- text helpers


def printable(text: str) -> str:
    """Map text onto Windows-1252 (what the built-in PDF fonts can show)."""
    out = []
    for char in text.translate(_TRANSLITERATE):
        if _encodable(char):
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(_encodable(c) for c in base) else "?")
    return "".join(out)


def _encodable(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return unicodedata.category(char)[0] != "C"


def _fit(text: str, font: str, size: float, width: float = _CONTENT_WIDTH) -> str:
    """Truncate with an ellipsis so long names never run off the label."""
    text = printable(text)
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _address_lines(address: Address) -> list[str]:
    city_line = "  ".join(part for part in (address.postal_code, address.city) if part)
    lines = [address.line1, address.line2, city_line, address.country]
    return [line for line in lines if line]


def _weight(grams: int) -> str:
    return f"{Decimal(grams) / 1000:.3f} kg"


# --------------------------------------------------------------------------- drawing


def _draw_page(canvas: Canvas, data: LabelData, parcel: LabelParcel, index: int) -> None:
    top = _HEIGHT - _MARGIN
    top = _draw_header(canvas, data, index, top)
    top = _draw_sender(canvas, data.sender, top)
    top = _draw_recipient(canvas, data.recipient, top)
    _draw_details(canvas, data, parcel, index, top)
    _draw_barcode(canvas, parcel.tracking_number, _MARGIN + 30)
    _draw_footer(canvas, data)


def _rule(canvas: Canvas, y: float, weight: float = 1.0) -> None:
    canvas.setLineWidth(weight)
    canvas.line(_MARGIN, y, _WIDTH - _MARGIN, y)


def _draw_header(canvas: Canvas, data: LabelData, index: int, top: float) -> float:
    box_width = 70.0
    text_width = _CONTENT_WIDTH - box_width - 6
    canvas.setFont(_BOLD, 14)
    canvas.drawString(_MARGIN, top - 14, _fit(data.carrier_name, _BOLD, 14, text_width))
    canvas.setFont(_REGULAR, 10)
    canvas.drawString(_MARGIN, top - 28, _fit(data.service_name, _REGULAR, 10, text_width))
    canvas.setFont(_BOLD, 8)
    canvas.drawString(_MARGIN, top - 40, _fit(data.service_code.upper(), _BOLD, 8, text_width))
    # Parcel counter inverted (white on black) so loaders spot "2/3" from afar.
    x = _WIDTH - _MARGIN - box_width
    canvas.rect(x, top - 42, box_width, 42, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.setFont(_BOLD, 20)
    canvas.drawCentredString(x + box_width / 2, top - 28, f"{index}/{len(data.parcels)}")
    canvas.setFillGray(0)
    _rule(canvas, top - 48, 1.5)
    return top - 48


def _draw_sender(canvas: Canvas, sender: Address, top: float) -> float:
    canvas.setFont(_BOLD, 7)
    canvas.drawString(_MARGIN, top - 10, "FROM")
    y = top - 20
    canvas.setFont(_REGULAR, 8)
    for line in [sender.name, *_address_lines(sender)]:
        canvas.drawString(_MARGIN, y, _fit(line, _REGULAR, 8))
        y -= 9.5
    _rule(canvas, y + 2)
    return y + 2


def _draw_recipient(canvas: Canvas, recipient: Address, top: float) -> float:
    canvas.setFont(_BOLD, 8)
    canvas.drawString(_MARGIN, top - 11, "TO")
    y = top - 27
    canvas.setFont(_BOLD, 14)
    canvas.drawString(_MARGIN, y, _fit(recipient.name, _BOLD, 14))
    for line in _address_lines(recipient):
        y -= 15
        canvas.setFont(_REGULAR, 12)
        canvas.drawString(_MARGIN, y, _fit(line, _REGULAR, 12))
    if recipient.phone:
        y -= 13
        canvas.setFont(_REGULAR, 9)
        canvas.drawString(_MARGIN, y, _fit(f"Tel. {recipient.phone}", _REGULAR, 9))
    _rule(canvas, y - 8, 1.5)
    return y - 8


def _draw_details(canvas: Canvas, data: LabelData, parcel: LabelParcel, index: int, top: float) -> None:
    rows = [
        ("Weight", _weight(parcel.weight_grams)),
        ("Reference", data.reference or "-"),
        ("Ship date", data.ship_date.isoformat()),
        ("Parcel", f"{index} of {len(data.parcels)}"),
    ]
    if len(data.parcels) > 1:
        rows.append(("Shipment", data.master_tracking_number))
    y = top - 13
    for label, value in rows:
        canvas.setFont(_REGULAR, 8)
        canvas.drawString(_MARGIN, y, label)
        canvas.setFont(_BOLD, 10)
        canvas.drawString(_MARGIN + 58, y, _fit(value, _BOLD, 10, _CONTENT_WIDTH - 58))
        y -= 12.5


def _draw_barcode(canvas: Canvas, tracking_number: str, bottom: float) -> None:
    """Code 128, as wide as fits (module <= 2 pt), centred, quiet zones included.

    The human-readable line is drawn by us rather than reportlab's
    `humanReadable`, which sets it flush against the bars.
    """
    modules = Code128(tracking_number, barWidth=1, quiet=0).width
    module = min(_MAX_MODULE_PT, _CONTENT_WIDTH / (modules + 2 * _QUIET_MODULES))
    quiet = _QUIET_MODULES * module
    barcode = Code128(
        tracking_number, barWidth=module, barHeight=_BARCODE_HEIGHT, quiet=1, lquiet=quiet, rquiet=quiet
    )
    barcode.drawOn(canvas, (_WIDTH - barcode.width) / 2, bottom)
    canvas.setFont(_BOLD, 14)
    canvas.drawCentredString(_WIDTH / 2, bottom - 17, tracking_number)


def _draw_footer(canvas: Canvas, data: LabelData) -> None:
    stamp = data.generated_at.strftime("%Y-%m-%d %H:%M")
    zone = data.generated_at.tzname() or ""
    canvas.setFont(_REGULAR, 6)
    canvas.drawString(_MARGIN, _MARGIN, printable(f"Generated {stamp} {zone}".rstrip()))
    canvas.drawRightString(_WIDTH - _MARGIN, _MARGIN, printable(data.carrier_name))
