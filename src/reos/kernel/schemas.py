"""The base of every domain's request bodies: what the API refuses in any body, published in
its schema so that what the schema allows the server takes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

NO_NUL_PATTERN = "^[^\\u0000]*$"
#: Text that must say something (a note, a task's title): one character at least that is
#: neither whitespace nor NUL. ``\\s`` as Python reads it (``str.isspace``), the rule the
#: server applies when it strips the text.
NOT_BLANK_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
FIXED_FORM = {"pattern", "format", "enum", "const"}


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must hold some text, not only spaces")
    return value


#: A free-text field that must not be blank, published as such (``pattern``), so that
#: what the schema allows the server takes.
NotBlank = Annotated[
    str, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN})
]


def _json_kind(annotation: Any) -> str | None:
    """ "number", "boolean" or "date" when a field holds only that kind (or null), else None."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if all(a is bool for a in args):
        return "boolean"
    if all(a in (date, datetime) for a in args):
        return "date"
    if all(a in (int, float) for a in args):
        return "number"
    return None


#: Each model field's JSON kind, worked out once: this validator runs for every field of
#: every body, and reading the annotation each time cost a third of validating a deal.
_KINDS: dict[tuple[type, str], str | None] = {}


def json_name(value: Any) -> str:
    """How a JSON value is called in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), repr(value))


class InputModel(BaseModel):
    """Base of request bodies: unknown fields refused, NUL characters refused (no database
    stores them, and they are never meant)."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Publishes the NUL rule: every free-text field gets a pattern without NUL."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        for prop in schema.get("properties", {}).values():
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") == "string" and not FIXED_FORM.intersection(branch):
                    branch["pattern"] = NO_NUL_PATTERN
        return schema

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON ``true`` is not a number of beds and ``"12"`` is not a number at all: the
        schema says ``number``/``integer``/``boolean``, so only those are taken (pydantic's
        lax mode converted them). 10.0 is still an integer, as JSON Schema has it."""
        if value is None:
            return value
        key = (cls, info.field_name or "")
        try:
            kind = _KINDS[key]
        except KeyError:
            kind = _KINDS[key] = _json_kind(cls.model_fields[key[1]].annotation)
        if kind is None:
            return value
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"must be a number, not {json_name(value)}")
        if kind == "boolean" and not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {json_name(value)}")
        if kind == "date" and not isinstance(value, str | date):
            # pydantic's lax mode read a number as seconds since 1970
            raise ValueError(f"must be a date written YYYY-MM-DD, not {json_name(value)}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError(f"{key} contains a NUL character")
        return data
