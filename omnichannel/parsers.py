"""How the API reads a request body: JSON, or a form for the inputs a form can carry (flat ones:
a reject's reason, a pickup code); JSON only where the input nests (an order's lines, a pack's
packages, a reject's counts, a rule set: `JSON_ONLY`), since a form silently dropped the nested
parts. JSON never nested deeper than `MAX_JSON_DEPTH`. A body that is sent is always read, so
one that cannot be read is refused even by an action that takes no input."""

from __future__ import annotations

import codecs
from typing import Any

from rest_framework import exceptions, parsers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.utils import json

# No input of this API nests more than a few levels (an order: body, lines, a line). Python's
# JSON decoder stops at its recursion limit (~1000 levels, less the caller's stack) with a
# RecursionError, and what comes after it (archiving the raw body, rendering an error that
# quotes it) recurses too, about twice per level: a body nested a few hundred levels deep parsed,
# then failed with a 500 further on, or was stored and failed every later reading.
MAX_JSON_DEPTH = 64

TOO_DEEP = f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."


def _deeper_than(data: dict | list, limit: int) -> bool:
    """Whether `data` (a parsed JSON object or array, level 1) nests more than `limit` levels
    deep. A level at a time, without recursion: no depth can overflow the stack."""
    level: list[Any] = [data]
    for _ in range(limit):
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
        if not level:
            return False
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing (a 400 parse error) a body nested more than `MAX_JSON_DEPTH`
    levels deep; DRF's catches only ValueError, and a deep body was a RecursionError (a 500).

    The depth is looked at only when the body has more opening brackets than the limit (a count
    over the text, in C): an everyday order has a handful, and costs no walk."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:  # bad JSON, or bytes that are not text in `encoding`
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        if (text.count("[") + text.count("{") > MAX_JSON_DEPTH and isinstance(data, dict | list)
                and _deeper_than(data, MAX_JSON_DEPTH)):
            raise exceptions.ParseError(TOO_DEEP)
        return data


# A view whose input nests names these (a form cannot carry its nested parts; it is a 415).
JSON_ONLY = [JSONParser]


def _carries_body(request) -> bool:
    """As DRF decides it: a Content-Length above 0 (without one, DRF reads no body at all)."""
    meta = request._request.META
    try:
        return int(meta.get("CONTENT_LENGTH", meta.get("HTTP_CONTENT_LENGTH", 0))) > 0
    except (ValueError, TypeError):
        return False


class BodyCheckingNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, which also reads the body of an unsafe request (POST, PUT,
    PATCH, DELETE) before the view runs, so a body that does not parse (400) or comes in a
    media type the view does not take (415), or with none, is refused even where the view never
    looks at `request.data` (`/fulfillments/{id}/accept/` and the other actions without input
    answered 200 to `{"x":` and changed state).

    DRF calls `select_renderer` from `APIView.initial()` for every request to every API view,
    which makes it the one place that sees them all without a shared base view. It runs before
    authentication: a body that cannot be read is answered as such whoever sends it. The body is
    parsed once; the view reads the parsed data. A method the view does not have is left to its
    405."""

    def select_renderer(self, request, renderers, format_suffix=None):
        chosen = super().select_renderer(request, renderers, format_suffix)
        if request.method not in SAFE_METHODS and not getattr(request, "_body_checked", False):
            request._body_checked = True  # DRF negotiates again to render an error: do not read twice
            view = (request.parser_context or {}).get("view")
            if view is None or getattr(view, request.method.lower(), None) is not None:
                self._check_body(request)
        return chosen

    @staticmethod
    def _check_body(request) -> None:
        if not _carries_body(request):
            return
        if not request.content_type:
            raise exceptions.UnsupportedMediaType(
                "", detail="The request has a body but no Content-Type: send it as application/json.")
        request.data  # noqa: B018 - parses now: a ParseError (400) or UnsupportedMediaType (415)
