"""Handlers: resource policies and tags."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api.wire import answer, body, empty, engine, query
from lconsole.engine.permissions import render_policy


async def add_permission(request: Request) -> Response:
    statement = engine(request).permissions.add(
        request.path_params["name"],
        query(request, "Qualifier"),
        await body(request, "AddPermission"),
    )
    return answer({"Statement": statement}, 201)


async def get_policy(request: Request) -> Response:
    policy = engine(request).permissions.get(
        request.path_params["name"], query(request, "Qualifier")
    )
    return answer({"Policy": render_policy(policy.statements), "RevisionId": policy.revision_id})


async def remove_permission(request: Request) -> Response:
    engine(request).permissions.remove(
        request.path_params["name"],
        request.path_params["sid"],
        query(request, "Qualifier"),
        query(request, "RevisionId"),
    )
    return empty(204)


async def tag_resource(request: Request) -> Response:
    engine(request).tags.tag(request.path_params["arn"], await body(request, "TagResource"))
    return empty(204)


async def untag_resource(request: Request) -> Response:
    engine(request).tags.untag(request.path_params["arn"], request.query_params.getlist("tagKeys"))
    return empty(204)


async def list_tags(request: Request) -> Response:
    return answer({"Tags": engine(request).tags.list(request.path_params["arn"])})
