"""The built-in, fully offline carrier: rate cards, promised dates, labels, tracking.

It exists so a self-hosted shop can run its own delivery fleet (or price a
contracted courier from a spreadsheet) with the same `Carrier` interface as a
real API integration. It prices by distance; a destination without coordinates
(storefronts rarely send them) is priced at the farthest zone of each service's
rate card that carries the parcel, within the service's range, so it is never
under-charged, and the quote and booking say so (`PricingBasis.FARTHEST_ZONE`,
rules in `rating`). It holds no state: tracking-number serials come from the
caller (a database sequence), and "cancel" only checks the number is ours --
the Django layer records the cancellation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from transport.carriers.base import (
    Address,
    Carrier,
    CarrierError,
    Parcel,
    PricingBasis,
    RateNotAvailable,
    RateQuote,
    RateRequest,
    ShipmentRequest,
    ShipmentResponse,
    TrackingEvent,
)
from transport.carriers.builtin.config import BuiltinCarrierConfig, ServiceConfig
from transport.carriers.builtin.label import LabelData, LabelParcel, render_label_pdf
from transport.carriers.builtin.rating import distance_km, known_distance_km, service_price
from transport.carriers.builtin.schedule import dispatch_date, estimate_delivery, to_local
from transport.carriers.builtin.tracking import TrackingNumberScheme
from transport.carriers.builtin.webhook import parse_webhook

__all__ = ["BuiltinCarrier"]

SerialSource = Callable[[], int]
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BuiltinCarrier(Carrier):
    """Rate-card carrier configured from plain data.

    `serials` yields one fresh integer per parcel (pass the next value of a DB
    sequence for collision-free numbers; the default draws random serials,
    which is fine offline but needs a uniqueness check in production).
    `clock` supplies "now" (aware, ideally) for requests without a ship date
    and for the label's generated-at stamp; inject a fixed one in tests.
    """

    def __init__(
        self,
        config: BuiltinCarrierConfig,
        *,
        serials: SerialSource | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.config = config
        self.code = config.code
        self.name = config.name
        self.tracking = TrackingNumberScheme(config.tracking_prefix)
        self._serials = serials
        self._clock = clock

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, serials: SerialSource | None = None, clock: Clock = _utc_now
    ) -> BuiltinCarrier:
        """Shortcut for `BuiltinCarrier(BuiltinCarrierConfig.from_dict(data), ...)`."""
        return cls(BuiltinCarrierConfig.from_dict(data), serials=serials, clock=clock)

    # ------------------------------------------------------------------ Carrier API

    def rate(self, req: RateRequest) -> list[RateQuote]:
        """Quotes for every requested service that can carry the shipment, cheapest first.

        Services that cannot (too heavy, too far) are left out; if none can,
        RateNotAvailable lists every service's reason.
        """
        services = self._services(req.service_codes)
        km = known_distance_km(req.origin, req.destination)
        ship_at = self._ship_moment(req.ship_date, self._clock())
        quotes: list[RateQuote] = []
        reasons: list[str] = []
        for service in services:
            try:
                quotes.append(self._quote(service, req.parcels, km, ship_at))
            except RateNotAvailable as exc:
                reasons.append(exc.message)
        if not quotes:
            raise RateNotAvailable("; ".join(reasons))
        return sorted(quotes, key=lambda q: (q.amount, q.estimated_delivery, q.service_code))

    def create_shipment(self, req: ShipmentRequest) -> ShipmentResponse:
        """Price (must be available), number each parcel, render one label page per parcel."""
        service = self._service(req.service_code)
        km = known_distance_km(req.origin, req.destination)
        now = self._clock()
        cost = service_price(service, req.parcels, km)
        numbers = self._tracking_numbers(len(req.parcels))
        return ShipmentResponse(
            carrier=self.code,
            service_code=service.code,
            master_tracking_number=numbers[0],
            tracking_numbers=numbers,
            label_pdf=self.render_label(req, numbers, generated_at=now),
            cost=cost,
            currency=self.config.currency,
            estimated_delivery=estimate_delivery(
                self._ship_moment(req.ship_date, now), service, self.config.holidays
            ),
            pricing_basis=_basis(km),
            distance_km=km,
        )

    def cancel_shipment(self, tracking_number: str) -> None:
        """Nothing to call remotely; refuse numbers this carrier never issued."""
        if not self.tracking.is_valid(tracking_number):
            raise CarrierError(
                f"{tracking_number!r} is not a {self.code} tracking number", code="invalid_tracking_number"
            )

    def parse_tracking_webhook(self, payload: dict[str, Any]) -> list[TrackingEvent]:
        """Parse the built-in webhook format (see `builtin.webhook`)."""
        return parse_webhook(payload, self.tracking.is_valid)

    # ------------------------------------------------------------------ extras for the Django layer

    def tracking_number_for(self, serial: int) -> str:
        """Deterministic number for a caller-allocated serial (0 .. 10**10 - 1)."""
        return self.tracking.number_for(serial)

    def is_valid_tracking_number(self, number: str) -> bool:
        return self.tracking.is_valid(number)

    def render_label(
        self,
        req: ShipmentRequest,
        tracking_numbers: Sequence[str],
        generated_at: datetime | None = None,
    ) -> bytes:
        """(Re)render the label PDF for a booked shipment; same inputs -> same bytes.

        `generated_at` defaults to the carrier clock; pass the stored booking
        time to reprint a byte-identical label.
        """
        service = self._service(req.service_code)
        if len(tracking_numbers) != len(req.parcels):
            raise ValueError("need exactly one tracking number per parcel")
        stamp = generated_at or self._clock()
        dispatch = dispatch_date(
            self._ship_moment(req.ship_date, stamp), service.cutoff, self.config.holidays
        )
        data = LabelData(
            carrier_name=self.name,
            service_code=service.code,
            service_name=service.name,
            sender=req.origin,
            recipient=req.destination,
            parcels=tuple(
                LabelParcel(number, parcel.weight_grams)
                for number, parcel in zip(tracking_numbers, req.parcels, strict=True)
            ),
            master_tracking_number=tracking_numbers[0],
            reference=req.reference,
            ship_date=dispatch,
            generated_at=stamp.astimezone(self.config.tzinfo) if stamp.tzinfo else stamp,
        )
        return render_label_pdf(data)

    def distance_km(self, origin: Address, destination: Address) -> Decimal:
        """The distance the rate card is applied to (metre-rounded haversine)."""
        return distance_km(origin, destination)

    # ------------------------------------------------------------------ internals

    def _quote(
        self, service: ServiceConfig, parcels: Sequence[Parcel], km: Decimal | None, ship_at: date
    ) -> RateQuote:
        return RateQuote(
            carrier=self.code,
            service_code=service.code,
            service_name=service.name,
            amount=service_price(service, parcels, km),
            currency=self.config.currency,
            transit_days=service.transit_days,
            estimated_delivery=estimate_delivery(ship_at, service, self.config.holidays),
            pricing_basis=_basis(km),
            distance_km=km,
        )

    def _service(self, code: str) -> ServiceConfig:
        service = self.config.service(code)
        if service is None:
            known = ", ".join(s.code for s in self.config.services)
            raise CarrierError(
                f"{self.code} has no service {code!r} (known: {known})", code="unknown_service"
            )
        return service

    def _services(self, codes: Sequence[str] | None) -> list[ServiceConfig]:
        if codes is None:
            return list(self.config.services)
        return [self._service(code) for code in dict.fromkeys(codes)]

    def _ship_moment(self, ship_date: date | None, now: datetime) -> date:
        """Carrier-local ship moment: a date, or a naive local datetime (see schedule)."""
        return to_local(ship_date if ship_date is not None else now, self.config.tzinfo)

    def _tracking_numbers(self, count: int) -> tuple[str, ...]:
        """One number per parcel; a repeating serial source is a caller bug worth stopping."""
        if self._serials is None:
            numbers = tuple(self.tracking.random_number() for _ in range(count))
        else:
            numbers = tuple(self.tracking.number_for(self._serials()) for _ in range(count))
        if len(set(numbers)) != count:
            raise CarrierError(
                "the serial source returned a duplicate serial", code="duplicate_tracking_number"
            )
        return numbers


def _basis(km: Decimal | None) -> PricingBasis:
    return PricingBasis.FARTHEST_ZONE if km is None else PricingBasis.DISTANCE
