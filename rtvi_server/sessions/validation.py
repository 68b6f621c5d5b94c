"""Request bodies checked against the API models, refusals naming the field.

pydantic checks the shape; the refusal text is ours (pydantic's own messages
and the refused input never reach a client, since an input may be a key).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rtvi_server.sessions.api import APIError

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "list_type": "must be an array",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "finite_number": "must be a finite number",
}


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``("services", "llm")`` -> ``services.llm``; ``("config", 0)`` -> ``config[0]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "body"


def _phrase(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "greater_than":
        return "must be a positive number" if ctx.get("gt") == 0 else f"must be > {ctx['gt']}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    if kind == "string_pattern_mismatch":
        return "must be a plain name of letters, digits, - or _"
    if kind == "literal_error":
        return "must be one of " + str(ctx["expected"]).replace("'", "").replace(" or ", ", ")
    return "is not valid"


def refusal(
    exc: ValidationError, *, prefix: str = "", refusals: dict[str, str] | None = None
) -> APIError:
    """The first problem pydantic found, as a 400 naming its field.

    ``refusals`` gives a top-level field's own wording for any problem with it.
    """
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = tuple(first["loc"])
    # A union's member name (e.g. "dict[str,str]") is pydantic's, not a field.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"str", "int"})))
    where = field_path(loc, prefix)
    own = (refusals or {}).get(str(loc[0])) if len(loc) == 1 else None
    # Keys of api_keys are provider names; values are secrets and never quoted.
    return APIError(400, f"{where} {own or _phrase(first)}", field=where)


def parse_model(model: type[M], raw: object, *, prefix: str = "") -> M:
    """``raw`` as ``model``, or :class:`APIError` 400 naming the first bad field."""
    if not isinstance(raw, dict):
        where = prefix or "body"
        raise APIError(400, f"{where} must be a JSON object", field=where)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        refusals: dict[str, str] = getattr(model, "REFUSALS", {})
        raise refusal(exc, prefix=prefix, refusals=refusals) from None
