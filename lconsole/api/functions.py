"""Handlers: functions, configuration, code and versions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api import shapes
from lconsole.api.code_links import code_location
from lconsole.api.wire import answer, body, empty, engine, query
from lconsole.model import arn as arns
from lconsole.model.function import FunctionConfig


def _config(request: Request, config: FunctionConfig, arn: str, *, listing: bool = False) -> dict:
    return shapes.function_configuration(
        config, arn=arn, region=engine(request).region, listing=listing
    )


def _arn_for(request: Request, config: FunctionConfig, qualifier: str | None) -> str:
    return engine(request).registry.arn(config.name, qualifier)


async def create_function(request: Request) -> Response:
    change = await engine(request).functions.create(await body(request, "CreateFunction"))
    return answer(_config(request, change.config, _arn_for(request, change.config, None)), 201)


async def get_function(request: Request) -> Response:
    eng = engine(request)
    record, config, qualifier = eng.functions.get(
        request.path_params["name"], query(request, "Qualifier")
    )
    out: dict = {
        "Configuration": _config(request, config, _arn_for(request, config, qualifier)),
        "Code": {"RepositoryType": "S3", "Location": code_location(request, config.code_id)},
    }
    if record.tags:
        out["Tags"] = dict(record.tags)
    if record.reserved_concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
    return answer(out)


async def get_configuration(request: Request) -> Response:
    _, config, qualifier = engine(request).functions.get(
        request.path_params["name"], query(request, "Qualifier")
    )
    return answer(_config(request, config, _arn_for(request, config, qualifier)))


async def list_functions(request: Request) -> Response:
    version = query(request, "FunctionVersion")
    rows, marker = engine(request).functions.list(
        query(request, "Marker"), query(request, "MaxItems"), version
    )
    out: dict = {}
    if marker:
        out["NextMarker"] = marker
    out["Functions"] = [
        _config(
            request,
            c,
            _arn_for(request, c, c.version if version == "ALL" or not c.is_latest else None),
            listing=True,
        )
        for c in rows
    ]
    return answer(out)


async def list_versions(request: Request) -> Response:
    rows, marker = engine(request).functions.list_versions(
        request.path_params["name"], query(request, "Marker"), query(request, "MaxItems")
    )
    out: dict = {}
    if marker:
        out["NextMarker"] = marker
    out["Versions"] = [
        _config(request, c, _arn_for(request, c, c.version), listing=True) for c in rows
    ]
    return answer(out)


async def update_configuration(request: Request) -> Response:
    change = engine(request).functions.update_configuration(
        request.path_params["name"], await body(request, "UpdateFunctionConfiguration")
    )
    return answer(_config(request, change.config, _arn_for(request, change.config, None)))


async def update_code(request: Request) -> Response:
    change = await engine(request).functions.update_code(
        request.path_params["name"], await body(request, "UpdateFunctionCode")
    )
    qualifier = change.config.version if change.qualified_arn else None
    return answer(_config(request, change.config, _arn_for(request, change.config, qualifier)))


async def publish_version(request: Request) -> Response:
    config = engine(request).functions.publish_version(
        request.path_params["name"], await body(request, "PublishVersion")
    )
    return answer(_config(request, config, _arn_for(request, config, config.version)), 201)


async def delete_function(request: Request) -> Response:
    engine(request).functions.delete(request.path_params["name"], query(request, "Qualifier"))
    return empty(204)


def qualified_arn(request: Request, name: str, qualifier: str | None) -> str:
    return engine(request).registry.arn(name, qualifier or arns.LATEST)
