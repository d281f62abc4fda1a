"""The API's error answers in the OpenAPI schema (/api/docs/): one `Error` component, the shape
`omnichannel.api.exception_handler` gives every error, and on each operation the error statuses
it can answer, unless the view documents its own."""

from __future__ import annotations

import copy
from typing import Any

ERROR_COMPONENT: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API. A transition refused (409 `invalid_transition`) adds "
                   "`current_status` and `action`; other errors may add details of their own.",
    "properties": {
        "code": {"type": "string", "description": "Stable, for programs: `invalid`, `parse_error`, "
                 "`not_authenticated`, `permission_denied`, `not_found`, `invalid_transition`, ...",
                 "example": "invalid"},
        "detail": {"type": "string", "description": "For people: what is wrong.",
                   "example": "lines[0].quantity: Ensure this value is greater than or equal to 1."},
        "field": {"type": "string", "nullable": True,
                  "description": "The input at fault, as `lines[0].quantity`; null when no one field is.",
                  "example": "lines[0].quantity"},
        "errors": {"type": "array", "description": "Bad input (400 `invalid`): every problem found.",
                   "items": {"$ref": "#/components/schemas/ErrorItem"}},
    },
    "required": ["code", "detail", "field"],
    "additionalProperties": True,
}
ERROR_ITEM_COMPONENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "field": {"type": "string"},
        "reason": {"type": "string"},
        "code": {"type": "string", "example": "min_value"},
    },
    "required": ["field", "reason", "code"],
}

DESCRIPTIONS = {
    "400": "Bad input: a body or parameter that does not parse or validate (`field` names it).",
    "401": "No credentials, or a token that is not valid.",
    "403": "The caller may not do this (role, location, channel).",
    "404": "Not found, or not visible to the caller.",
    "409": "Conflict: the object is not in a state that allows this, or a retry does not match the first.",
    "422": "A business rule refuses it (stock, capability, a limit).",
}
UNSAFE = {"post", "put", "patch", "delete"}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    statuses = []
    if method in UNSAFE or any(p["in"] == "query" for p in parameters):
        statuses.append("400")  # an action without input still refuses a body it cannot read
    if {} not in operation.get("security", [{}]):  # no anonymous access
        statuses += ["401", "403"]
    if any(p["in"] == "path" for p in parameters):
        statuses.append("404")
    if method in UNSAFE:
        statuses += ["409", "422"]
    return statuses


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", copy.deepcopy(ERROR_COMPONENT))
    schemas.setdefault("ErrorItem", copy.deepcopy(ERROR_ITEM_COMPONENT))
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "head", "options", "trace"} | UNSAFE:
                continue  # a path's shared `parameters`, `summary`
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                responses.setdefault(status, {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    return result
