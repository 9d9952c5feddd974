"""Aliases, concurrency, event-invoke configs, policies, tags and layers through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.api.test_functions import ARN, create, error_of
from tests.support.packages import echo_zip, zip_files


@pytest.fixture(scope="module")
def fn(lam):  # type: ignore[no-untyped-def]
    """A function with versions 1..3."""
    create(lam, "alias-fn", Publish=True)
    for timeout in (5, 6):
        lam.update_function_configuration(FunctionName="alias-fn", Timeout=timeout)
        lam.publish_version(FunctionName="alias-fn")
    return "alias-fn"


def test_alias_lifecycle(lam, fn) -> None:  # type: ignore[no-untyped-def]
    alias = lam.create_alias(
        FunctionName=fn,
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    assert alias["AliasArn"] == ARN + "alias-fn:live"
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    assert alias["Description"] == ""
    updated = lam.update_alias(
        FunctionName=fn,
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"3": 0.5}},
        RevisionId=alias["RevisionId"],
    )
    assert updated["RoutingConfig"] == {"AdditionalVersionWeights": {"3": 0.5}}
    assert updated["RevisionId"] != alias["RevisionId"]
    cleared = lam.update_alias(
        FunctionName=fn, Name="live", RoutingConfig={"AdditionalVersionWeights": {}}
    )
    assert "RoutingConfig" not in cleared
    got = lam.get_function_configuration(FunctionName=fn, Qualifier="live")
    assert got["FunctionArn"] == ARN + "alias-fn:live" and got["Version"] == "1"
    lam.create_alias(FunctionName=fn, Name="2024-01-02", FunctionVersion="$LATEST")
    names = [a["Name"] for a in lam.list_aliases(FunctionName=fn)["Aliases"]]
    assert names == ["2024-01-02", "live"]
    assert [
        a["Name"] for a in lam.list_aliases(FunctionName=fn, FunctionVersion="1")["Aliases"]
    ] == ["live"]
    lam.delete_alias(FunctionName=fn, Name="2024-01-02")
    lam.delete_alias(FunctionName=fn, Name="2024-01-02")  # idempotent


def test_alias_errors(raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    arn = ARN + "alias-fn"
    raw_lam.create_alias(FunctionName=fn, Name="err", FunctionVersion="1")
    cases = [
        (
            lambda: raw_lam.create_alias(FunctionName=fn, Name="err", FunctionVersion="1"),
            (409, "ResourceConflictException", f"Alias already exists: {arn}:err"),
        ),
        (
            lambda: raw_lam.get_alias(FunctionName=fn, Name="none"),
            (404, "ResourceNotFoundException", f"Cannot find alias arn: {arn}:none"),
        ),
        (
            lambda: raw_lam.update_alias(FunctionName=fn, Name="none", FunctionVersion="1"),
            (404, "ResourceNotFoundException", f"Alias not found: {arn}:none"),
        ),
        (
            lambda: raw_lam.create_alias(FunctionName=fn, Name="x", FunctionVersion="9"),
            (404, "ResourceNotFoundException", f"Function not found: {arn}:9"),
        ),
        (
            lambda: raw_lam.create_alias(
                FunctionName=fn,
                Name="x",
                FunctionVersion="1",
                RoutingConfig={"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}},
            ),
            (
                400,
                "InvalidParameterValueException",
                "Number of items in AdditionalVersionWeights cannot be greater than 1",
            ),
        ),
        (
            lambda: raw_lam.create_alias(
                FunctionName=fn,
                Name="x",
                FunctionVersion="1",
                RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
            ),
            (
                400,
                "InvalidParameterValueException",
                "Invalid function version 1. Function version 1 is already included in routing "
                "configuration.",
            ),
        ),
        (
            lambda: raw_lam.create_alias(
                FunctionName=fn,
                Name="x",
                FunctionVersion="$LATEST",
                RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
            ),
            (
                400,
                "InvalidParameterValueException",
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ),
        ),
        (
            lambda: raw_lam.create_alias(
                FunctionName=fn,
                Name="x",
                FunctionVersion="1",
                RoutingConfig={"AdditionalVersionWeights": {"2": 2}},
            ),
            (
                400,
                "ValidationException",
                "1 validation error detected: Value '{2=2.0}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
                "must satisfy constraint: [Member must have value less than or equal to 1.0, "
                "Member "
                "must have value greater than or equal to 0.0, Member must not be null]",
            ),
        ),
        (
            lambda: raw_lam.create_alias(FunctionName=fn, Name="123", FunctionVersion="1"),
            (
                400,
                "ValidationException",
                "1 validation error detected: Value '123' at 'name' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
            ),
        ),
        (
            lambda: raw_lam.update_alias(FunctionName=fn, Name="err", RevisionId="nope"),
            (
                412,
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            ),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected
    with pytest.raises(ClientError) as exc:
        raw_lam.create_alias(
            FunctionName=fn,
            Name="x",
            FunctionVersion="$LATEST",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
        )
    assert "Type" not in exc.value.response  # AWS omits Type on this one


def test_reserved_concurrency(lam, raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    assert lam.get_function_concurrency(FunctionName=fn).get("ReservedConcurrentExecutions") is None
    assert (
        lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)[
            "ReservedConcurrentExecutions"
        ]
        == 5
    )
    assert lam.get_function(FunctionName=fn)["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 995
    with pytest.raises(ClientError) as exc:
        raw_lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=950)
    assert error_of(exc) == (
        400,
        "InvalidParameterValueException",
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].",
    )
    assert "Type" not in exc.value.response
    with pytest.raises(ClientError) as exc:
        raw_lam.put_function_concurrency(FunctionName=fn + ":1", ReservedConcurrentExecutions=1)
    assert error_of(exc)[2].startswith("This operation is permitted on Lambda functions only.")
    with pytest.raises(ClientError) as exc:
        raw_lam.put_function_concurrency(FunctionName="ghost", ReservedConcurrentExecutions=1)
    assert error_of(exc) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}ghost:$LATEST",
    )
    lam.delete_function_concurrency(FunctionName=fn)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fn)


def test_provisioned_concurrency(lam, raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    lam.create_alias(FunctionName=fn, Name="pc", FunctionVersion="3")
    put = lam.put_provisioned_concurrency_config(
        FunctionName=fn, Qualifier="pc", ProvisionedConcurrentExecutions=2
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 2
    listed = lam.list_provisioned_concurrency_configs(FunctionName=fn)[
        "ProvisionedConcurrencyConfigs"
    ]
    assert [c["FunctionArn"] for c in listed] == [ARN + "alias-fn:pc"]
    cases = [
        (
            lambda: raw_lam.put_provisioned_concurrency_config(
                FunctionName=fn, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
            ),
            (
                400,
                "InvalidParameterValueException",
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions.",
            ),
        ),
        (
            lambda: raw_lam.get_provisioned_concurrency_config(
                FunctionName=fn, Qualifier="$LATEST"
            ),
            (
                400,
                "InvalidParameterValueException",
                "The function resource provided must be an alias or a published version.",
            ),
        ),
        (
            lambda: raw_lam.put_provisioned_concurrency_config(
                FunctionName=fn, Qualifier="3", ProvisionedConcurrentExecutions=1
            ),
            (
                409,
                "ResourceConflictException",
                "Version is pointed by a Provisioned Concurrency alias",
            ),
        ),
        (
            lambda: raw_lam.put_provisioned_concurrency_config(
                FunctionName=fn, Qualifier="nope", ProvisionedConcurrentExecutions=1
            ),
            (404, "ResourceNotFoundException", f"Cannot find alias arn: {ARN}alias-fn:nope"),
        ),
        (
            lambda: raw_lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier="1"),
            (
                404,
                "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function",
            ),
        ),
        (
            lambda: raw_lam.put_provisioned_concurrency_config(
                FunctionName=fn, Qualifier="1", ProvisionedConcurrentExecutions=0
            ),
            (
                400,
                "ValidationException",
                "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' "
                "failed "
                "to satisfy constraint: Member must have value greater than or equal to 1",
            ),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected
    lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="pc")
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName=fn)["ProvisionedConcurrencyConfigs"]
        == []
    )


def test_event_invoke_config(lam, raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    create(lam, "dest-fn")
    put = lam.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": ARN + "dest-fn"}},
    )
    assert put["FunctionArn"] == ARN + "alias-fn:$LATEST"
    assert put["DestinationConfig"] == {
        "OnSuccess": {},
        "OnFailure": {"Destination": ARN + "dest-fn"},
    }
    assert "MaximumEventAgeInSeconds" not in put
    merged = lam.update_function_event_invoke_config(FunctionName=fn, MaximumEventAgeInSeconds=120)
    assert merged["MaximumRetryAttempts"] == 1 and merged["MaximumEventAgeInSeconds"] == 120
    assert merged["DestinationConfig"]["OnFailure"] == {"Destination": ARN + "dest-fn"}
    replaced = lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    assert "MaximumEventAgeInSeconds" not in replaced
    assert [
        c["FunctionArn"]
        for c in lam.list_function_event_invoke_configs(FunctionName=fn)[
            "FunctionEventInvokeConfigs"
        ]
    ] == [ARN + "alias-fn:$LATEST"]
    cases = [
        (
            lambda: raw_lam.put_function_event_invoke_config(FunctionName=fn),
            (
                400,
                "InvalidParameterValueException",
                "You must specify at least one of error handling or destination setting.",
            ),
        ),
        (
            lambda: raw_lam.put_function_event_invoke_config(
                FunctionName=fn, DestinationConfig={"OnSuccess": {"Destination": ARN + "alias-fn"}}
            ),
            (
                400,
                "InvalidParameterValueException",
                "You can't specify the function as a destination for itself.",
            ),
        ),
        (
            lambda: raw_lam.put_function_event_invoke_config(
                FunctionName=fn, DestinationConfig={"OnSuccess": {"Destination": ARN + "ghost"}}
            ),
            (400, "InvalidParameterValueException", f"The destination ARN {ARN}ghost is invalid."),
        ),
        (
            lambda: raw_lam.put_function_event_invoke_config(
                FunctionName="ghost", MaximumRetryAttempts=1
            ),
            (404, "ResourceNotFoundException", "The function doesn't exist."),
        ),
        (
            lambda: raw_lam.get_function_event_invoke_config(FunctionName=fn, Qualifier="1"),
            (
                404,
                "ResourceNotFoundException",
                f"The function {ARN}alias-fn:1 doesn't have an EventInvokeConfig",
            ),
        ),
        (
            lambda: raw_lam.put_function_event_invoke_config(
                FunctionName=fn, MaximumRetryAttempts=3
            ),
            (
                400,
                "ValidationException",
                "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to "
                "satisfy "
                "constraint: Member must have value less than or equal to 2",
            ),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected
    lam.delete_function_event_invoke_config(FunctionName=fn)
    with pytest.raises(ClientError):
        lam.get_function_event_invoke_config(FunctionName=fn)


def test_permissions(lam, raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    before = lam.get_function(FunctionName=fn)["Configuration"]["RevisionId"]
    added = lam.add_permission(
        FunctionName=fn,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::bucket",
        SourceAccount="123456789012",
    )
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "s3",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": ARN + "alias-fn",
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "123456789012"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
        },
    }
    policy = lam.get_policy(FunctionName=fn)
    assert json.loads(policy["Policy"])["Statement"] == [statement]
    assert policy["RevisionId"] == lam.get_function(FunctionName=fn)["Configuration"]["RevisionId"]
    assert policy["RevisionId"] != before
    lam.add_permission(
        FunctionName=fn, StatementId="acct", Action="lambda:*", Principal="123456789012"
    )
    assert json.loads(lam.get_policy(FunctionName=fn)["Policy"])["Statement"][1]["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:root"
    }
    cases = [
        (
            lambda: raw_lam.add_permission(
                FunctionName=fn, StatementId="s3", Action="lambda:*", Principal="*"
            ),
            (
                409,
                "ResourceConflictException",
                "The statement id (s3) provided already exists. Please provide a new statement id, "
                "or remove the existing statement.",
            ),
        ),
        (
            lambda: raw_lam.add_permission(
                FunctionName=fn,
                StatementId="x",
                Action="lambda:*",
                Principal="*",
                Qualifier="$LATEST",
            ),
            (
                400,
                "InvalidParameterValueException",
                "We currently do not support adding policies for $LATEST.",
            ),
        ),
        (
            lambda: raw_lam.add_permission(
                FunctionName=fn, StatementId="x", Action="lambda:*", Principal="nobody"
            ),
            (
                400,
                "InvalidParameterValueException",
                "The provided principal was invalid. Please check the principal and try again.",
            ),
        ),
        (
            lambda: raw_lam.get_policy(FunctionName=fn, Qualifier="1"),
            (404, "ResourceNotFoundException", "The resource you requested does not exist."),
        ),
        (
            lambda: raw_lam.remove_permission(FunctionName=fn, StatementId="zzz"),
            (404, "ResourceNotFoundException", "Statement zzz is not found in resource policy."),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected
    lam.remove_permission(FunctionName=fn, StatementId="s3")
    lam.remove_permission(FunctionName=fn, StatementId="acct")
    with pytest.raises(ClientError):
        lam.get_policy(FunctionName=fn)


def test_tags(lam, raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    arn = ARN + fn
    assert lam.list_tags(Resource=arn)["Tags"] == {}
    lam.tag_resource(Resource=arn, Tags={"team": "a", "env": "dev"})
    lam.tag_resource(Resource=arn, Tags={"env": "prod"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "a", "env": "prod"}
    assert lam.get_function(FunctionName=fn)["Tags"] == {"team": "a", "env": "prod"}
    lam.untag_resource(Resource=arn, TagKeys=["team", "absent"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "prod"}
    with pytest.raises(ClientError) as exc:
        raw_lam.tag_resource(Resource=arn + ":1", Tags={"a": "b"})
    assert error_of(exc)[2] == (
        "Tags on function aliases and versions are not supported. Please specify a function ARN."
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert error_of(exc)[2] == "Number of tags exceeds resource tag limit."
    with pytest.raises(ClientError) as exc:
        raw_lam.untag_resource(Resource=arn, TagKeys=[])
    assert error_of(exc)[:2] == (400, "ValidationException")


def test_layers(lam, raw_lam) -> None:  # type: ignore[no-untyped-def]
    content = zip_files({"python/shared.py": "X = 1\n"})
    v1 = lam.publish_layer_version(
        LayerName="shared",
        Content={"ZipFile": content},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
    )
    assert v1["Version"] == 1
    assert v1["LayerVersionArn"] == "arn:aws:lambda:us-east-1:000000000000:layer:shared:1"
    assert v1["Content"]["CodeSize"] == len(content)
    v2 = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": content})
    assert v2["Version"] == 2
    lam.delete_layer_version(LayerName="shared", VersionNumber=2)
    v3 = lam.publish_layer_version(
        LayerName="shared", Content={"ZipFile": content}, CompatibleRuntimes=["python3.12"]
    )
    assert v3["Version"] == 3  # never reused
    versions = lam.list_layer_versions(LayerName="shared")["LayerVersions"]
    assert [v["Version"] for v in versions] == [3, 1]
    assert "Content" not in versions[0]
    layers = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert [(x["LayerName"], x["LatestMatchingVersion"]["Version"]) for x in layers] == [
        ("shared", 3)
    ]
    by_arn = lam.get_layer_version_by_arn(Arn=v1["LayerVersionArn"])
    assert by_arn["Version"] == 1
    assert lam.list_layer_versions(LayerName="unknown")["LayerVersions"] == []
    lam.delete_layer_version(LayerName="shared", VersionNumber=99)  # 204 for missing
    with pytest.raises(ClientError) as exc:
        raw_lam.get_layer_version(LayerName="shared", VersionNumber=2)
    assert error_of(exc) == (
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
    # Functions reference layers; the rules are AWS's.
    f = create(lam, "layered-fn", Layers=[v1["LayerVersionArn"]])
    assert f["Layers"] == [{"Arn": v1["LayerVersionArn"], "CodeSize": len(content)}]
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "layered-2", Layers=[v1["LayerVersionArn"], v3["LayerVersionArn"]])
    assert error_of(exc)[2].startswith("Two different versions of the same layer")
    missing = "arn:aws:lambda:us-east-1:000000000000:layer:shared:2"
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "layered-2", Layers=[missing])
    assert error_of(exc)[2] == f"Layer version {missing} does not exist."
    six = [f"arn:aws:lambda:us-east-1:000000000000:layer:l{i}:1" for i in range(6)]
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "layered-2", Layers=six)
    assert error_of(exc)[2] == "Cannot reference more than 5 layers."
    cleared = lam.update_function_configuration(FunctionName="layered-fn", Layers=[])
    assert "Layers" not in cleared


def test_update_code_targets_latest_only(raw_lam, fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        raw_lam.update_function_code(FunctionName=fn + ":1", ZipFile=echo_zip())
    assert error_of(exc)[2].startswith("Current operation does not support versions other than")
