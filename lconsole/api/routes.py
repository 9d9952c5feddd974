"""The Lambda REST API route table: one line per operation."""

from __future__ import annotations

from starlette.routing import Route

from lconsole.api import aliases, code_links, functions, layers, policy, settings

F = "/2015-03-31/functions/{name}"
L = "/2018-10-31/layers"

LAMBDA_ROUTES = [
    Route("/2015-03-31/functions", functions.list_functions, methods=["GET"]),
    Route("/2015-03-31/functions", functions.create_function, methods=["POST"]),
    Route("/2015-03-31/functions/", functions.list_functions, methods=["GET"]),
    Route("/2015-03-31/functions/", functions.create_function, methods=["POST"]),
    Route(F, functions.get_function, methods=["GET"]),
    Route(F, functions.delete_function, methods=["DELETE"]),
    Route(F + "/configuration", functions.get_configuration, methods=["GET"]),
    Route(F + "/configuration", functions.update_configuration, methods=["PUT"]),
    Route(F + "/code", functions.update_code, methods=["PUT"]),
    Route(F + "/versions", functions.publish_version, methods=["POST"]),
    Route(F + "/versions", functions.list_versions, methods=["GET"]),
    # POST F + "/invocations" (Invoke) is answered before Starlette: see api/invoke.py
    Route(F + "/aliases", aliases.create_alias, methods=["POST"]),
    Route(F + "/aliases", aliases.list_aliases, methods=["GET"]),
    Route(F + "/aliases/{alias}", aliases.get_alias, methods=["GET"]),
    Route(F + "/aliases/{alias}", aliases.update_alias, methods=["PUT"]),
    Route(F + "/aliases/{alias}", aliases.delete_alias, methods=["DELETE"]),
    Route(F + "/policy", policy.add_permission, methods=["POST"]),
    Route(F + "/policy", policy.get_policy, methods=["GET"]),
    Route(F + "/policy/{sid}", policy.remove_permission, methods=["DELETE"]),
    Route("/2017-10-31/functions/{name}/concurrency", settings.put_concurrency, methods=["PUT"]),
    Route(
        "/2017-10-31/functions/{name}/concurrency", settings.delete_concurrency, methods=["DELETE"]
    ),
    Route("/2019-09-30/functions/{name}/concurrency", settings.get_concurrency, methods=["GET"]),
    Route(
        "/2019-09-30/functions/{name}/provisioned-concurrency",
        settings.provisioned,
        methods=["GET"],
    ),
    Route(
        "/2019-09-30/functions/{name}/provisioned-concurrency",
        settings.put_provisioned,
        methods=["PUT"],
    ),
    Route(
        "/2019-09-30/functions/{name}/provisioned-concurrency",
        settings.delete_provisioned,
        methods=["DELETE"],
    ),
    Route(
        "/2019-09-25/functions/{name}/event-invoke-config",
        settings.put_event_invoke_config,
        methods=["PUT"],
    ),
    Route(
        "/2019-09-25/functions/{name}/event-invoke-config",
        settings.update_event_invoke_config,
        methods=["POST"],
    ),
    Route(
        "/2019-09-25/functions/{name}/event-invoke-config",
        settings.get_event_invoke_config,
        methods=["GET"],
    ),
    Route(
        "/2019-09-25/functions/{name}/event-invoke-config",
        settings.delete_event_invoke_config,
        methods=["DELETE"],
    ),
    Route(
        "/2019-09-25/functions/{name}/event-invoke-config/list",
        settings.list_event_invoke_configs,
        methods=["GET"],
    ),
    Route("/2016-08-19/account-settings", settings.account_settings, methods=["GET"]),
    Route("/2016-08-19/account-settings/", settings.account_settings, methods=["GET"]),
    Route("/2017-03-31/tags/{arn}", policy.tag_resource, methods=["POST"]),
    Route("/2017-03-31/tags/{arn}", policy.untag_resource, methods=["DELETE"]),
    Route("/2017-03-31/tags/{arn}", policy.list_tags, methods=["GET"]),
    Route(L, layers.layers, methods=["GET"]),
    Route(L + "/{layer}/versions", layers.publish_layer_version, methods=["POST"]),
    Route(L + "/{layer}/versions", layers.list_layer_versions, methods=["GET"]),
    Route(L + "/{layer}/versions/{version}", layers.get_layer_version, methods=["GET"]),
    Route(L + "/{layer}/versions/{version}", layers.delete_layer_version, methods=["DELETE"]),
    Route("/_lconsole/code/{code_id}.zip", code_links.download, methods=["GET"]),
]
