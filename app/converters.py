"""URL converters: what a path segment may be, stated once for routing and
for the OpenAPI document."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter, IntegerConverter

from .schemas import GAMING_DAY_PATTERN

# Ids are what a body may name too (schemas.wallet_id): a larger number is no
# resource (404) rather than an integer the database cannot hold.
MAX_ID = 2**53
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9999, 12, 30)


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


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


def register(app: Flask) -> None:
    """Before any blueprint: rules take their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["gaming_day"] = GamingDayConverter


def document(api: Api) -> None:
    api.register_converter(GamingDayConverter, _day_schema)
