"""Schemas of /v1/rules: rule profiles."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import Integer, Output, StrictSchema


class ProfileSelect(StrictSchema):
    name = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A shipped profile: default or macau", "example": "macau"},
    )
    document = fields.Dict(
        metadata={
            "description": "A profile of your own, in the format of the shipped ones "
            "(GET /v1/rules shows the active one's `document`); give a name of its own"
        }
    )


class RulesOut(Output):
    name = fields.String()
    version = Integer(metadata={"description": "Version of the profile format"})
    description = fields.String()
    source = fields.String(
        metadata={"description": "shipped (a file of the product) or document (given by the admin)"}
    )
    document = fields.Dict(metadata={"description": "The profile as written: every setting"})
    derived = fields.Dict(
        metadata={"description": "Figures computed from it, e.g. the LTR threshold in CNY"}
    )
