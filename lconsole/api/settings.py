"""Handlers: reserved and provisioned concurrency, event-invoke configs, account settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api import shapes
from lconsole.api.wire import answer, body, empty, engine, query
from lconsole.model import arn as arns


async def put_concurrency(request: Request) -> Response:
    n = engine(request).concurrency.put_reserved(
        request.path_params["name"], await body(request, "PutFunctionConcurrency")
    )
    return answer({"ReservedConcurrentExecutions": n})


async def get_concurrency(request: Request) -> Response:
    n = engine(request).concurrency.get_reserved(request.path_params["name"])
    return answer({} if n is None else {"ReservedConcurrentExecutions": n})


async def delete_concurrency(request: Request) -> Response:
    engine(request).concurrency.delete_reserved(request.path_params["name"])
    return empty(204)


async def provisioned(request: Request) -> Response:
    """GET on this path is Get or List depending on `List=ALL`."""
    eng = engine(request)
    name = request.path_params["name"]
    if query(request, "List") == "ALL":
        record, rows, marker = eng.concurrency.list_provisioned(
            name, query(request, "Marker"), query(request, "MaxItems")
        )
        out: dict = {
            "ProvisionedConcurrencyConfigs": [
                shapes.provisioned(c, eng.registry.arn(record.name, c.qualifier)) for c in rows
            ]
        }
        if marker:
            out["NextMarker"] = marker
        return answer(out)
    config = eng.concurrency.get_provisioned(name, query(request, "Qualifier"))
    return answer(shapes.provisioned(config))


async def put_provisioned(request: Request) -> Response:
    config = engine(request).concurrency.put_provisioned(
        request.path_params["name"],
        query(request, "Qualifier"),
        await body(request, "PutProvisionedConcurrencyConfig"),
    )
    return answer(shapes.provisioned(config), 202)


async def delete_provisioned(request: Request) -> Response:
    engine(request).concurrency.delete_provisioned(
        request.path_params["name"], query(request, "Qualifier")
    )
    return empty(204)


def _invoke_config_arn(request: Request, record_name: str, qualifier: str) -> str:
    return engine(request).registry.arn(record_name, qualifier or arns.LATEST)


async def put_event_invoke_config(request: Request) -> Response:
    record, config = engine(request).invoke_configs.put(
        request.path_params["name"],
        query(request, "Qualifier"),
        await body(request, "PutFunctionEventInvokeConfig"),
        merge=False,
    )
    arn = _invoke_config_arn(request, record.name, config.qualifier)
    return answer(shapes.event_invoke_config(config, arn))


async def update_event_invoke_config(request: Request) -> Response:
    record, config = engine(request).invoke_configs.put(
        request.path_params["name"],
        query(request, "Qualifier"),
        await body(request, "UpdateFunctionEventInvokeConfig"),
        merge=True,
    )
    arn = _invoke_config_arn(request, record.name, config.qualifier)
    return answer(shapes.event_invoke_config(config, arn))


async def get_event_invoke_config(request: Request) -> Response:
    record, config = engine(request).invoke_configs.get(
        request.path_params["name"], query(request, "Qualifier")
    )
    arn = _invoke_config_arn(request, record.name, config.qualifier)
    return answer(shapes.event_invoke_config(config, arn))


async def delete_event_invoke_config(request: Request) -> Response:
    engine(request).invoke_configs.delete(request.path_params["name"], query(request, "Qualifier"))
    return empty(204)


async def list_event_invoke_configs(request: Request) -> Response:
    record, rows, marker = engine(request).invoke_configs.list(
        request.path_params["name"], query(request, "Marker"), query(request, "MaxItems")
    )
    out: dict = {
        "FunctionEventInvokeConfigs": [
            shapes.event_invoke_config(c, _invoke_config_arn(request, record.name, c.qualifier))
            for c in rows
        ]
    }
    if marker:
        out["NextMarker"] = marker
    return answer(out)


async def account_settings(request: Request) -> Response:
    return answer(engine(request).account_settings())
