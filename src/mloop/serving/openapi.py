"""The OpenAPI request schema of ``POST /predict``, from the served model's signature."""

from __future__ import annotations

from typing import Any

from mloop.models.columns import BOOLEAN, CATEGORY, DATETIME, FLOAT, INTEGER, STRING, ColumnSpec
from mloop.models.signature import Signature

_TYPES: dict[str, dict[str, Any]] = {
    FLOAT: {"type": "number"},
    INTEGER: {"type": "integer"},
    BOOLEAN: {"type": "boolean"},
    STRING: {"type": "string"},
    CATEGORY: {"type": ["string", "number", "boolean"]},
    DATETIME: {"type": "string", "format": "date-time"},
}


def value_schema(spec: ColumnSpec) -> dict[str, Any]:
    if spec.type == CATEGORY and spec.categories is not None:
        schema: dict[str, Any] = {"enum": list(spec.categories)}
    else:
        schema = dict(_TYPES[spec.type])
    if spec.type not in (INTEGER, BOOLEAN):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def request_schema(signature: Signature | None) -> dict[str, Any]:
    """Rows as records or as columns; any fields when the model has no signature."""
    if signature is None:
        return {
            "oneOf": [
                {"type": "array", "items": {"type": "object"}, "minItems": 1},
                {"type": "object", "additionalProperties": {"type": "array"}},
            ]
        }
    names = signature.input_names
    record = {
        "type": "object",
        "properties": {spec.name: value_schema(spec) for spec in signature.inputs},
        "required": names,
    }
    columns = {
        "type": "object",
        "properties": {
            spec.name: {"type": "array", "items": value_schema(spec), "minItems": 1}
            for spec in signature.inputs
        },
        "required": names,
    }
    return {
        "oneOf": [
            {"type": "array", "items": record, "minItems": 1, "title": "Records"},
            {**columns, "title": "Columns"},
        ]
    }


def response_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["request_id", "model", "predictions"],
        "properties": {
            "request_id": {"type": "string"},
            "model": {"type": "string", "description": "The model version that answered."},
            "version": {"type": ["integer", "null"]},
            "predictions": {"type": "array"},
            "probabilities": {"type": "array", "items": {"type": "array"}},
            "classes": {"type": "array"},
        },
    }
