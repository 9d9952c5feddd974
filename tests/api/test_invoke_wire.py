"""Invoke over raw HTTP/1.1 against a real engine: the protocol edges clients rely on.

Invoke is answered by the engine's own HTTP protocol, below ASGI, so keep-alive, pipelining,
`Expect: 100-continue`, HTTP/1.0 and half-sent requests are checked here on a bare socket.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import BinaryIO

import httpx
import pytest

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
COUNTER = """
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    return {"event": event, "count": COUNT}
"""
PATH = "/2015-03-31/functions/{}/invocations"


@pytest.fixture(scope="module")
def counter(lam) -> str:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName="counter",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": COUNTER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="counter")
    return "counter"


@pytest.fixture
def conn(engine: EngineProcess) -> Iterator[tuple[socket.socket, BinaryIO]]:
    host, port = engine.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    reader = sock.makefile("rb")
    try:
        yield sock, reader
    finally:
        reader.close()
        sock.close()


def request(path: str, body: bytes = b"", method: str = "POST", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(reader: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def count_of(body: bytes) -> int:
    return json.loads(body)["count"]


def test_keep_alive_invokes_answer_in_one_piece_with_aws_headers(counter, conn) -> None:  # type: ignore[no-untyped-def]
    sock, reader = conn
    seen = []
    for n in range(3):
        sock.sendall(request(PATH.format(counter), json.dumps({"n": n}).encode()))
        status, headers, body = read_response(reader)
        assert status == 200
        assert json.loads(body)["event"] == {"n": n}
        assert headers["x-amz-executed-version"] == "$LATEST"
        assert headers["content-type"] == "application/json"
        assert "date" in headers and "connection" not in headers
        seen.append(headers["x-amzn-requestid"])
    assert len(set(seen)) == 3


def test_pipelined_requests_are_answered_in_order(counter, conn) -> None:  # type: ignore[no-untyped-def]
    sock, reader = conn
    path = PATH.format(counter)
    config = f"/2015-03-31/functions/{counter}/configuration"
    sock.sendall(
        request(path, b'{"i": 1}')
        + request(config, method="GET")
        + request(path, b'{"i": 2}')
        + request(path, b"{not json")
        + request(path, b'{"i": 3}')
    )
    answers = [read_response(reader) for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 400, 200]
    assert json.loads(answers[0][2])["event"] == {"i": 1}
    assert json.loads(answers[1][2])["FunctionName"] == counter
    assert json.loads(answers[2][2])["event"] == {"i": 2}
    assert answers[3][1]["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(answers[4][2])["event"] == {"i": 3}


def test_expect_100_continue_waits_for_the_body(counter, conn) -> None:  # type: ignore[no-untyped-def]
    sock, reader = conn
    body = b'{"continued": true}'
    head = request(PATH.format(counter), body, Expect="100-continue")[: -len(body)]
    sock.sendall(head)
    assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert reader.readline() == b"\r\n"
    sock.sendall(body)
    status, _, answer = read_response(reader)
    assert status == 200 and json.loads(answer)["event"] == {"continued": True}


def test_http_1_0_gets_its_answer_then_the_connection_closes(counter, conn) -> None:  # type: ignore[no-untyped-def]
    sock, reader = conn
    sock.sendall(request(PATH.format(counter), b"[1]").replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    status, headers, body = read_response(reader)
    assert status == 200 and json.loads(body)["event"] == [1]
    assert headers["connection"] == "close"
    assert reader.read() == b""  # closed by the engine


def test_percent_encoded_arn_and_qualifier(counter, lam, conn) -> None:  # type: ignore[no-untyped-def]
    version = lam.publish_version(FunctionName=counter)["Version"]
    sock, reader = conn
    arn = f"arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3A{counter}"
    sock.sendall(request(PATH.format(arn) + f"?Qualifier={version}", b"{}"))
    status, headers, _ = read_response(reader)
    assert status == 200
    assert headers["x-amz-executed-version"] == version


def test_oversized_body_is_refused_and_the_connection_stays_usable(counter, conn) -> None:  # type: ignore[no-untyped-def]
    sock, reader = conn
    big = b'"' + b"x" * 1048576 + b'"'
    sock.sendall(request(PATH.format(counter), big, X_Amz_Invocation_Type="Event"))
    status, headers, body = read_response(reader)
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"  # not the model name
    assert json.loads(body)["message"] == (
        "1048578 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    sock.sendall(request(PATH.format(counter), b'{"after": 1}'))
    status, _, body = read_response(reader)
    assert status == 200 and json.loads(body)["event"] == {"after": 1}


def test_a_half_sent_request_invokes_nothing(engine, lam) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName="half",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": COUNTER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="half")
    host, port = engine.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        whole = request(PATH.format("half"), b"{}" + b" " * 1000)
        sock.sendall(whole[: len(whole) - 1000])  # a valid JSON prefix, then the client goes
    assert count_of(lam.invoke(FunctionName="half", Payload=b"{}")["Payload"].read()) == 1
    envs = httpx.get(
        f"{engine.url}/_lconsole/v1/environments",
        params={"function": "half"},
        headers={"Authorization": f"Bearer {engine.endpoint['token']}"},
        timeout=10,
    ).json()["environments"]
    assert [env["invocations"] for env in envs] == [1]
