"""What both services' OpenAPI documents need and FastAPI with pydantic 1 does not write.

- `document_nullable`: pydantic 1 leaves `null` out of the JSON schema of an Optional field, so
  a document said e.g. `queue_position` is an integer while active handoffs answer `null`.
- `error_responses` / `documented_error`: the `{"error": ...}` answers, per status, with the
  service's own descriptions and error model.
Found by the OpenAPI fuzzing (docs/reliability.md).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Type

from pydantic import BaseModel


def document_nullable(schema: Dict[str, Any], model: Type[BaseModel]) -> None:
    """`schema_extra` for output models: every Optional field also allows `null`."""
    properties = schema.get("properties", {})
    for field in model.__fields__.values():
        prop = properties.get(field.alias)
        if not field.allow_none or prop is None:
            continue
        if "anyOf" in prop:
            prop["anyOf"].append({"type": "null"})
        else:
            outer = {key: prop.pop(key) for key in ("title", "description", "default") if key in prop}
            properties[field.alias] = dict(outer, anyOf=[prop, {"type": "null"}])


def error_responses(descriptions: Mapping[int, str], model: Type[BaseModel], *statuses: int) -> Dict[int, Dict[str, Any]]:
    """`responses=` for a route's own error answers."""
    return {status: {"model": model, "description": descriptions[status]} for status in statuses}


def documented_error(descriptions: Mapping[int, str], status: int, model_name: str = "ErrorOut") -> Dict[str, Any]:
    """One error answer as written into a document's `responses`."""
    return {"description": descriptions[status],
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model_name}"}}}}
