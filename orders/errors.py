from omnichannel.errors import BusinessRuleViolated, Conflict, NotFound, ValidationFailed


class OrderNotFound(NotFound):
    code = "order_not_found"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class PickupNotPossible(ValidationFailed):
    code = "pickup_not_possible"


class AddressRequired(ValidationFailed):
    code = "address_required"


class PickupCodeInvalid(BusinessRuleViolated):
    code = "pickup_code_invalid"


class PickupCodeLocked(Conflict):
    code = "pickup_code_locked"


class WrongDeliveryMethod(Conflict):
    code = "wrong_delivery_method"
