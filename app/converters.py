"""URL converters: what a path segment may be, stated once for routing and
for the OpenAPI document.

Ids are ASCII digits only (Python's ``\\d`` and ``int()`` also take other
scripts' digits: ``/v1/wallets/١`` must not name wallet 1), bounded by the
column that holds them. Text segments hold no control character: a segment
with one (``/v1/operators/%00``) names nothing, so it is 404 without a query.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter, IntegerConverter, PathConverter, UnicodeConverter

from wallets.core.schema import MAX_ID, MAX_ID32

from .schemas.common import GAMING_DAY_PATTERN

FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9999, 12, 30)
_TEXT = r"[^/\x00-\x1f\x7f]"


class IdConverter(IntegerConverter):
    """An id of a 64-bit column (``<int:...>``): 1 to MAX_ID, the largest
    integer a JSON number holds exactly (a body may name it too)."""

    regex = r"[0-9]+"
    maximum = MAX_ID

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", self.maximum)
        super().__init__(map, *args, **kwargs)


class Id32Converter(IdConverter):
    """An id of a 32-bit column (``<id32:...>``): API keys, export jobs,
    exclusions. A larger number is no resource (404)."""

    maximum = MAX_ID32


class TextConverter(UnicodeConverter):
    """The default converter (``<code>``, ``<ref>``): one segment without
    control characters."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = None, length=None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = _TEXT + self.regex[len("[^/]") :]


class TextPathConverter(PathConverter):
    """``<path:...>`` without control characters."""

    regex = r"[^/\x00-\x1f\x7f][^\x00-\x1f\x7f]*?"


class GamingDayConverter(BaseConverter):
    """A gaming day in a path. Routing takes any segment, so that the view can
    name the bad field (422); the document states what a gaming day is."""


def _day_schema(converter: BaseConverter) -> dict:
    return {
        "type": "string",
        "format": "date",
        "pattern": GAMING_DAY_PATTERN,
        "description": f"A gaming day, {FIRST_DAY} to {LAST_DAY}",
    }


def _text_schema(converter: BaseConverter) -> dict:
    return {"type": "string", "minLength": 1}


def register(app: Flask) -> None:
    """Before any blueprint: rules take their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id32"] = Id32Converter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.url_map.converters["path"] = TextPathConverter
    app.url_map.converters["gaming_day"] = GamingDayConverter


def document(api: Api) -> None:
    api.register_converter(GamingDayConverter, _day_schema)
    api.register_converter(TextConverter, _text_schema)
    api.register_converter(TextPathConverter, _text_schema)
