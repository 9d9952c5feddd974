"""Handlers: layer versions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api import shapes
from lconsole.api.code_links import code_location
from lconsole.api.wire import answer, body, empty, engine
from lconsole.model.settings import LayerVersion


def _layer(request: Request, layer: LayerVersion, *, listing: bool = False) -> dict:
    return shapes.layer_version(
        layer,
        layer_arn=engine(request).registry.layer_arn(layer.name),
        location=code_location(request, layer.code_id),
        listing=listing,
    )


def _query(request: Request) -> dict[str, str | None]:
    return {
        k: request.query_params.get(k)
        for k in ("CompatibleRuntime", "CompatibleArchitecture", "Marker", "MaxItems")
    }


async def publish_layer_version(request: Request) -> Response:
    layer = await engine(request).layers.publish(
        request.path_params["layer"], await body(request, "PublishLayerVersion")
    )
    return answer(_layer(request, layer), 201)


async def get_layer_version(request: Request) -> Response:
    layer = engine(request).layers.get(request.path_params["layer"], request.path_params["version"])
    return answer(_layer(request, layer))


async def delete_layer_version(request: Request) -> Response:
    engine(request).layers.delete(request.path_params["layer"], request.path_params["version"])
    return empty(204)


async def list_layer_versions(request: Request) -> Response:
    rows, marker = engine(request).layers.list_versions(
        request.path_params["layer"], _query(request)
    )
    out: dict = {}
    if marker:
        out["NextMarker"] = marker
    out["LayerVersions"] = [_layer(request, lv, listing=True) for lv in rows]
    return answer(out)


async def layers(request: Request) -> Response:
    """GET /layers is ListLayers, or GetLayerVersionByArn with `find=LayerVersion`."""
    eng = engine(request)
    if request.query_params.get("find") == "LayerVersion":
        layer = eng.layers.get_by_arn(request.query_params.get("Arn"))
        return answer(_layer(request, layer))
    rows, marker = eng.layers.list_layers(_query(request))
    out: dict = {}
    if marker:
        out["NextMarker"] = marker
    out["Layers"] = [
        {
            "LayerName": lv.name,
            "LayerArn": eng.registry.layer_arn(lv.name),
            "LatestMatchingVersion": _layer(request, lv, listing=True),
        }
        for lv in rows
    ]
    return answer(out)
