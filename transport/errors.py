from omnichannel.errors import BusinessRuleViolated, Conflict, NotFound, ValidationFailed


class NoCarrierService(BusinessRuleViolated):
    code = "no_carrier_service"


class UnknownCarrierService(ValidationFailed):
    """A service code no carrier has (a typo): bad input, unlike a known service that cannot
    take the shipment (NoCarrierService, 422)."""

    code = "unknown_service"


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"


class TrackingEventInvalid(ValidationFailed):
    code = "tracking_event_invalid"


class TrackingEventIdReused(Conflict):
    code = "tracking_event_id_reused"
