"""Structured outputs: JSON schemas from pydantic models, and replies parsed back into them."""

from ._schema import model_json_schema, strict_json_schema, strict_problems

__all__ = ["model_json_schema", "strict_json_schema", "strict_problems"]
