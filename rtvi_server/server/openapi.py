"""The OpenAPI document at ``/docs``, generated from the models the routes validate with.

Routes read their bodies themselves (bounded, strict JSON, the accepted
alternative shapes), so FastAPI does not see the models in their signatures;
these helpers name the models in each route's description and add their
schemas to the document's components.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from rtvi_server.sessions.api import ErrorBody

_REF = "#/components/schemas/{model}"


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model``."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": ref(model)}},
        }
    }


def answers(
    ok: type[BaseModel] | None, *errors: int, ok_status: int = 200
) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a route: its answer model and the error statuses it can refuse with."""
    out: dict[int | str, dict[str, Any]] = {}
    if ok is not None:
        out[ok_status] = {
            "description": ok.__doc__.split("\n")[0] if ok.__doc__ else "OK",
            "content": {"application/json": {"schema": ref(ok)}},
        }
    for status in errors:
        out[status] = {"model": ErrorBody, "description": "Refused; `field` names the cause."}
    return out


def document_models(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Put ``models`` (and the models they use) into the document's components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema = model.model_json_schema(ref_template=_REF)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        app.openapi_schema = document
        return document

    setattr(app, "openapi", openapi)  # noqa: B010 (FastAPI's documented override)
