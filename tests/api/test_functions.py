"""Functions and versions through boto3 against a real engine: shapes, errors, persistence."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from botocore.exceptions import ClientError

from tests.support.packages import echo_zip, zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def create(lam, name: str, **kw):  # type: ignore[no-untyped-def]
    args = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": echo_zip()},
    }
    args.update(kw)
    return lam.create_function(**args)


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    resp = exc.value.response
    return (
        resp["ResponseMetadata"]["HTTPStatusCode"],
        resp["Error"]["Code"],
        resp["Error"]["Message"],
    )


def test_create_function_shape(lam) -> None:  # type: ignore[no-untyped-def]
    code = echo_zip()
    resp = create(lam, "shape-fn", Code={"ZipFile": code}, Description="d")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert resp["FunctionArn"] == ARN + "shape-fn"
    assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert resp["CodeSize"] == len(code)
    assert resp["State"] == "Pending"
    assert resp["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in resp
    assert resp["Version"] == "$LATEST"
    assert resp["Timeout"] == 3 and resp["MemorySize"] == 128
    assert resp["Architectures"] == ["x86_64"]
    assert resp["EphemeralStorage"] == {"Size": 512}
    assert resp["TracingConfig"] == {"Mode": "PassThrough"}
    assert resp["PackageType"] == "Zip"
    assert resp["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/shape-fn"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", resp["LastModified"])
    assert "Environment" not in resp
    lam.get_waiter("function_active_v2").wait(FunctionName="shape-fn")
    got = lam.get_function(FunctionName="shape-fn")
    config = got["Configuration"]
    assert config["State"] == "Active" and config["LastUpdateStatus"] == "Successful"
    assert config["RevisionId"] != resp["RevisionId"]
    assert got["Code"]["RepositoryType"] == "S3"
    assert "Tags" not in got and "Concurrency" not in got


def test_code_location_downloads_the_zip(engine, lam) -> None:  # type: ignore[no-untyped-def]
    import httpx

    code = zip_files({"app.py": "def handler(e, c):\n    return 'dl'\n"})
    create(lam, "dl-fn", Code={"ZipFile": code})
    location = lam.get_function(FunctionName="dl-fn")["Code"]["Location"]
    assert httpx.get(location).content == code
    assert httpx.get(location.split("?")[0]).status_code == 403


def test_missing_function_is_404_with_capital_message(raw_lam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="nope")
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: {ARN}nope")
    body = exc.value.response
    assert body["Type"] == "User"
    assert body["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "ResourceNotFoundException"
    )


def test_duplicate_create_conflicts(lam) -> None:  # type: ignore[no-untyped-def]
    create(lam, "dup-fn")
    with pytest.raises(ClientError) as exc:
        create(lam, "dup-fn")
    assert error_of(exc) == (409, "ResourceConflictException", "Function already exist: dup-fn")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"MemorySize": 20000},
            "1 validation error detected: Value '20000' at 'memorySize' "
            "failed to satisfy constraint: Member must have value less than or equal to 10240",
        ),
        (
            {"Timeout": 1200},
            "1 validation error detected: Value '1200' at 'timeout' failed to "
            "satisfy constraint: Member must have value less than or equal to 900",
        ),
        (
            {"Timeout": 1200, "MemorySize": 20000},
            "2 validation errors detected: Value '1200' at "
            "'timeout' failed to satisfy constraint: Member must have value less than or equal to "
            "900; Value '20000' at 'memorySize' failed to satisfy constraint: Member must have "
            "value less than or equal to 10240",
        ),
        (
            {"Role": "r1"},
            "1 validation error detected: Value 'r1' at 'role' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        ),
        (
            {"Architectures": ["x86_64", "arm64"]},
            "1 validation error detected: Value "
            "'[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have "
            "length less than or equal to 1",
        ),
        (
            {"EphemeralStorage": {"Size": 20000}},
            "1 validation error detected: Value '20000' at "
            "'ephemeralStorage.size' failed to satisfy constraint: Member must have value less "
            "than or equal to 10240",
        ),
    ],
)
def test_create_validation_errors(raw_lam, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "invalid-fn", **kwargs)
    assert error_of(exc) == (400, "ValidationException", message)


def test_runtime_errors(raw_lam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "old-fn", Runtime="python3.7")
    assert error_of(exc) == (
        400,
        "InvalidParameterValueException",
        "The runtime parameter of python3.7 is no longer supported for creating or updating "
        "AWS Lambda functions. We recommend you use a supported runtime while creating or "
        "updating functions.",
    )
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "odd-fn", Runtime="PYTHON3.9")
    status, code, message = error_of(exc)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert message.startswith(
        "Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum "
        "value set: [nodejs20.x, python3.14, provided.al2023,"
    )
    assert message.endswith("java8.al2] or be a valid ARN")


def test_name_rules(raw_lam) -> None:  # type: ignore[no-untyped-def]
    long = "a" * 65
    with pytest.raises(ClientError) as exc:
        create(raw_lam, long)
    assert error_of(exc) == (
        400,
        "InvalidParameterValueException",
        f"1 validation error detected: Value '{long}' at 'functionName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName=long)
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="arn:aws:lambda:eu-west-1:000000000000:function:x")
    assert error_of(exc) == (
        404,
        "ResourceNotFoundException",
        "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="bad name!")
    status, code, message = error_of(exc)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        "1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
    )


def test_bad_qualifier(raw_lam) -> None:  # type: ignore[no-untyped-def]
    create(raw_lam, "qual-fn")
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="qual-fn", Qualifier="bad qualifier")
    assert error_of(exc) == (
        400,
        "ValidationException",
        "1 validation error detected: Value 'bad qualifier' at 'qualifier' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: "
        r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="qual-fn:1", Qualifier="2")
    assert error_of(exc) == (
        400,
        "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.get_function(FunctionName="qual-fn", Qualifier="7")
    assert error_of(exc) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}qual-fn:7",
    )


def test_environment_rules(raw_lam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "env-fn", Environment={"Variables": {"AWS_REGION": "x", "OK": "y"}})
    assert error_of(exc)[2].endswith("Reserved keys used in this request: AWS_REGION")
    big = {"KK": "v" * 4088}  # {"KK":"vvv..."} is 4097 bytes
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "env-fn", Environment={"Variables": big})
    assert error_of(exc)[2].startswith(
        "Lambda was unable to configure your environment variables because the environment "
        'variables you have provided exceeded the 4KB limit. String measured: {"KK":"vvv'
    )
    fits = {"KK": "v" * 4087}  # exactly 4096 bytes
    assert create(raw_lam, "env-fn", Environment={"Variables": fits})["Environment"] == {
        "Variables": fits
    }
    with pytest.raises(ClientError) as exc:
        create(raw_lam, "env-fn2", Environment={"Variables": {"1BAD": "x"}})
    assert error_of(exc) == (
        400,
        "ValidationException",
        "1 validation error detected: Value at 'environment.variables' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
        "pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
    )


def test_bad_zips_are_rejected_and_leave_nothing(engine, raw_lam) -> None:  # type: ignore[no-untyped-def]
    unzip = "Could not unzip uploaded file. Please check your file, then try to upload again."
    code_dir = engine.state_dir / "code"
    before = sorted(p.name for p in code_dir.iterdir()) if code_dir.exists() else []
    for bad in (
        b"not a zip at all",
        zip_files({"../escape.py": "x"}),
        zip_files({"/abs/path.py": "x"}),
        zip_files({"ok.py": "x", "link": "../../etc/passwd"}, {"link": 0o120777}),
    ):
        with pytest.raises(ClientError) as exc:
            create(raw_lam, "zip-fn", Code={"ZipFile": bad})
        assert error_of(exc) == (400, "InvalidParameterValueException", unzip)
    with pytest.raises(ClientError):
        raw_lam.get_function(FunctionName="zip-fn")
    after = sorted(p.name for p in code_dir.iterdir())
    assert after == before
    ok = zip_files({"app.py": "x", "lib/link.py": "../app.py"}, {"lib/link.py": 0o120777})
    assert create(raw_lam, "zip-fn", Code={"ZipFile": ok})["CodeSize"] == len(ok)


def test_update_publish_and_versions(lam) -> None:  # type: ignore[no-untyped-def]
    create(lam, "ver-fn")
    v1 = lam.publish_version(FunctionName="ver-fn", Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"] == ARN + "ver-fn:1"
    assert v1["Description"] == "first" and v1["State"] == "Active"
    # Nothing changed: the same version comes back.
    again = lam.publish_version(FunctionName="ver-fn")
    assert again["Version"] == "1" and again["RevisionId"] == v1["RevisionId"]
    upd = lam.update_function_configuration(FunctionName="ver-fn", MemorySize=256, Timeout=10)
    assert upd["LastUpdateStatus"] == "InProgress" and upd["MemorySize"] == 256
    lam.get_waiter("function_updated_v2").wait(FunctionName="ver-fn")
    v2 = lam.publish_version(FunctionName="ver-fn")
    assert v2["Version"] == "2" and v2["MemorySize"] == 256
    # Versions are immutable snapshots.
    assert lam.get_function_configuration(FunctionName="ver-fn", Qualifier="1")["MemorySize"] == 128
    new_code = zip_files({"app.py": "def handler(e, c):\n    return 2\n"})
    code = lam.update_function_code(FunctionName="ver-fn", ZipFile=new_code, Publish=True)
    assert code["Version"] == "3" and code["FunctionArn"] == ARN + "ver-fn:3"
    versions = lam.list_versions_by_function(FunctionName="ver-fn")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3"]
    assert versions[0]["FunctionArn"] == ARN + "ver-fn:$LATEST"
    assert "State" not in versions[0]
    lam.delete_function(FunctionName="ver-fn", Qualifier="3")
    v4 = lam.update_function_code(FunctionName="ver-fn", ZipFile=echo_zip(), Publish=True)
    assert v4["Version"] == "4"  # numbers are never reused
    latest = lam.get_function(FunctionName="ver-fn", Qualifier="$LATEST")["Configuration"]
    assert latest["FunctionArn"] == ARN + "ver-fn:$LATEST"


def test_publish_preconditions(raw_lam) -> None:  # type: ignore[no-untyped-def]
    create(raw_lam, "pre-fn")
    current = raw_lam.get_function(FunctionName="pre-fn")["Configuration"]
    with pytest.raises(ClientError) as exc:
        raw_lam.publish_version(FunctionName="pre-fn", CodeSha256="abc")
    assert error_of(exc) == (
        400,
        "InvalidParameterValueException",
        f"CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST "
        f"({current['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.publish_version(FunctionName="pre-fn", RevisionId="wrong")
    assert error_of(exc) == (
        412,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the "
        "GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
    ok = raw_lam.publish_version(
        FunctionName="pre-fn", CodeSha256=current["CodeSha256"], RevisionId=current["RevisionId"]
    )
    assert ok["Version"] == "1"
    with pytest.raises(ClientError) as exc:
        raw_lam.update_function_configuration(FunctionName="pre-fn", RevisionId="wrong", Timeout=5)
    assert error_of(exc)[:2] == (412, "PreconditionFailedException")


def test_delete_rules(raw_lam) -> None:  # type: ignore[no-untyped-def]
    create(raw_lam, "del-fn", Publish=True)
    raw_lam.create_alias(FunctionName="del-fn", Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        raw_lam.delete_function(FunctionName="del-fn", Qualifier="1")
    assert error_of(exc) == (
        409,
        "ResourceConflictException",
        "Unable to delete version because the following aliases reference it: [live]",
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.delete_function(FunctionName="del-fn", Qualifier="$LATEST")
    assert error_of(exc)[2] == "$LATEST version cannot be deleted without deleting the function."
    with pytest.raises(ClientError) as exc:
        raw_lam.delete_function(FunctionName="del-fn", Qualifier="live")
    assert error_of(exc)[2] == "Deletion of aliases is not currently supported."
    assert (
        raw_lam.delete_function(FunctionName="del-fn", Qualifier="99")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    assert (
        raw_lam.delete_function(FunctionName="del-fn")["ResponseMetadata"]["HTTPStatusCode"] == 204
    )
    with pytest.raises(ClientError) as exc:
        raw_lam.delete_function(FunctionName="del-fn", Qualifier="1")
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: {ARN}del-fn")


def test_list_functions_pagination(lam) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        create(lam, f"page-{i}")
    names = []
    marker = None
    while True:
        kw = {"MaxItems": 3, **({"Marker": marker} if marker else {})}
        page = lam.list_functions(**kw)
        assert len(page["Functions"]) <= 3
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in names if n.startswith("page-")] == [f"page-{i}" for i in range(7)]
    paginated = [
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in p["Functions"]
    ]
    assert paginated == names
    plain = lam.list_functions()["Functions"]
    assert all(":$LATEST" not in f["FunctionArn"] for f in plain)
    assert all("State" not in f and "RuntimeVersionConfig" not in f for f in plain)


def test_list_all_versions_and_bad_enum(raw_lam) -> None:  # type: ignore[no-untyped-def]
    create(raw_lam, "all-fn", Publish=True)
    rows = [
        f
        for f in raw_lam.list_functions(FunctionVersion="ALL", MaxItems=50)["Functions"]
        if f["FunctionName"] == "all-fn"
    ]
    assert [r["FunctionArn"] for r in rows] == [ARN + "all-fn:$LATEST", ARN + "all-fn:1"]
    with pytest.raises(ClientError) as exc:
        raw_lam.list_functions(FunctionVersion="invalid")
    assert error_of(exc) == (
        400,
        "ValidationException",
        "1 validation error detected: Value 'invalid' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ALL]",
    )


def test_create_with_publish_answers_version_one_unqualified(lam) -> None:  # type: ignore[no-untyped-def]
    resp = create(lam, "pub-fn", Publish=True)
    assert resp["Version"] == "1" and resp["FunctionArn"] == ARN + "pub-fn"


def test_account_settings(lam) -> None:  # type: ignore[no-untyped-def]
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["CodeSizeZipped"] == 52428800
    assert settings["AccountUsage"]["FunctionCount"] >= 1
    assert settings["AccountUsage"]["TotalCodeSize"] > 0
