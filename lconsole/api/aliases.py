"""Handlers: aliases and their routing configuration."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api import shapes
from lconsole.api.wire import answer, body, empty, engine, query
from lconsole.model.alias import Alias
from lconsole.model.record import FunctionRecord


def _alias(request: Request, record: FunctionRecord, alias: Alias) -> dict:
    return shapes.alias(alias, engine(request).registry.arn(record.name, alias.name))


async def create_alias(request: Request) -> Response:
    record, alias = engine(request).aliases.create(
        request.path_params["name"], await body(request, "CreateAlias")
    )
    return answer(_alias(request, record, alias), 201)


async def get_alias(request: Request) -> Response:
    record, alias = engine(request).aliases.get(
        request.path_params["name"], request.path_params["alias"]
    )
    return answer(_alias(request, record, alias))


async def update_alias(request: Request) -> Response:
    record, alias = engine(request).aliases.update(
        request.path_params["name"],
        request.path_params["alias"],
        await body(request, "UpdateAlias"),
    )
    return answer(_alias(request, record, alias))


async def delete_alias(request: Request) -> Response:
    engine(request).aliases.delete(request.path_params["name"], request.path_params["alias"])
    return empty(204)


async def list_aliases(request: Request) -> Response:
    record, rows, marker = engine(request).aliases.list(
        request.path_params["name"],
        query(request, "FunctionVersion"),
        query(request, "Marker"),
        query(request, "MaxItems"),
    )
    out: dict = {}
    if marker:
        out["NextMarker"] = marker
    out["Aliases"] = [_alias(request, record, a) for a in rows]
    return answer(out)
