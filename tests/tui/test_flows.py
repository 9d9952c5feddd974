"""Pilot tests of each console flow against a real engine with the sample functions."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from lconsole.backends.base import NotAvailable
from lconsole.tui.app import LconsoleApp
from lconsole.tui.scene import NOW, SceneBackend
from lconsole.tui.screens.edit import EditScreen
from lconsole.tui.screens.function import FunctionScreen
from lconsole.tui.screens.invoke import InvokeScreen
from lconsole.tui.screens.traffic import TrafficScreen
from lconsole.tui.widgets.logs_pane import LogsPane
from lconsole.tui.widgets.metrics_view import MetricsView
from lconsole.tui.widgets.resource_table import ResourceTable
from tests.support.engine import EngineProcess
from tests.tui.helpers import local_backend, screen_text, settle, until

pytestmark = pytest.mark.anyio
SAMPLES = ("node-hello", "python-echo", "python-xray", "shell-bootstrap")


async def command(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


async def test_functions_view_lists_every_function_and_filters(
    samples_engine: EngineProcess,
) -> None:
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await settle(pilot)
            text = screen_text(app)
            assert all(name in text for name in SAMPLES)
            assert "● live" in text or "● polling" in text
            table = app.screen.query_one(ResourceTable)

            await pilot.press("slash", *"node")
            await settle(pilot)
            assert table.row_count == 1 and "node-hello" in screen_text(app)

            await pilot.press("escape")
            await settle(pilot)
            assert table.row_count == len(SAMPLES)

            await pilot.press("slash", "exclamation_mark", *"python", "enter")
            await settle(pilot)
            assert {str(table.get_row_at(i)[0]) for i in range(table.row_count)} == {
                "node-hello",
                "shell-bootstrap",
            }

            await pilot.press("slash", *"zzz")
            await settle(pilot)
            assert "no function matches 'zzz'" in screen_text(app)


async def test_invoke_with_a_template_shows_the_outcome_and_the_live_row(
    samples_engine: EngineProcess,
) -> None:
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "function python-echo")
            assert isinstance(app.screen, FunctionScreen)

            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, InvokeScreen), "the invoke dialog")
            # the template picker has focus: open it and take the SQS event
            await pilot.press("enter", "down", "down", "down", "down", "enter")
            area = app.screen.query_one(TextArea)
            await until(pilot, lambda: '"aws:sqs"' in area.text, "the SQS template")

            await pilot.press("ctrl+s")
            await until(pilot, lambda: "200 ok" in screen_text(app), "the invoke result")
            # and for its figures: once, in a full run, "200 ok" was on screen before them
            await until(
                pilot, lambda: "billed" in screen_text(app), "the result's figures", timeout=5.0
            )
            text = screen_text(app)
            assert "❄ cold" in text or "warm" in text, text
            assert '"echo"' in text, text

            await pilot.press("escape")
            rows = app.screen.query_one("#invocations-table", ResourceTable)
            await until(pilot, lambda: rows.row_count >= 1, "the invocation in the live list")
            await settle(pilot)
            text = screen_text(app)
            assert "success" in text and ("cold" in text or "warm" in text)

            recorded = await backend.invocations("python-echo")
            assert recorded and recorded[0].request_id[:8] in text


async def test_invalid_json_is_refused_inline(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        before = len(await backend.invocations("node-hello", 1000))
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "invoke node-hello")
            await until(pilot, lambda: isinstance(app.screen, InvokeScreen), "the invoke dialog")
            app.screen.query_one(TextArea).focus()
            await pilot.press(*'{"name": ')
            await until(pilot, lambda: "invalid JSON" in screen_text(app), "the JSON error")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "not sent" in screen_text(app), "the refusal")
        assert len(await backend.invocations("node-hello", 1000)) == before


async def test_publish_then_shift_alias_traffic_then_roll_back_and_promote(
    samples_engine: EngineProcess,
) -> None:
    lam = samples_engine.client()
    name = "shell-bootstrap"
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, f"versions {name}")
            screen = app.screen
            assert isinstance(screen, FunctionScreen)
            await until(pilot, lambda: screen.detail is not None, "the function detail")

            await pilot.press("P")  # publish
            versions = screen.query_one("#versions-table", ResourceTable)
            await until(pilot, lambda: "1" in versions.rows, "version 1 in the versions tab")
            assert [
                v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]
            ] == ["$LATEST", "1"]

            lam.update_function_configuration(FunctionName=name, Description="second")
            lam.publish_version(FunctionName=name)
            lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
            await pilot.press("r", "3")
            aliases = screen.query_one("#aliases-table", ResourceTable)
            await until(pilot, lambda: aliases.row_count == 1, "the alias")
            assert "v1 100%" in screen_text(app)

            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TrafficScreen), "the traffic view")
            await pilot.press("right_square_bracket", "right_square_bracket", "right")
            await settle(pilot)
            assert "v1 79%" in screen_text(app) and "v2 21%" in screen_text(app)

            await pilot.press("equals_sign", *"150", "enter")
            await until(pilot, lambda: "between 0 and 100" in screen_text(app), "range error")
            await pilot.press("escape")  # leave the weight field as it was

            await pilot.press("enter")
            await until(pilot, lambda: "y applies" in screen_text(app), "the confirmation")
            assert lam.get_alias(FunctionName=name, Name="live").get("RoutingConfig") is None
            await pilot.press("y")
            await until(pilot, lambda: "✔ applied" in screen_text(app), "the applied shift")
            alias = lam.get_alias(FunctionName=name, Name="live")
            assert alias["FunctionVersion"] == "1"
            assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.21}

            await pilot.press("R", "y")  # roll back: all traffic to version 1
            await until(
                pilot,
                lambda: (
                    not lam.get_alias(FunctionName=name, Name="live")
                    .get("RoutingConfig", {})
                    .get("AdditionalVersionWeights")
                ),
                "the roll back",
            )
            await pilot.press("P", "y")  # promote: version 2 takes all traffic
            await until(
                pilot,
                lambda: lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2",
                "the promotion",
            )
            await pilot.press("escape")
            await until(pilot, lambda: "v2 100%" in screen_text(app), "the new split")


async def test_from_an_invocation_to_its_logs_then_filter_then_open_a_trace(
    samples_engine: EngineProcess,
) -> None:
    async with local_backend(samples_engine) as backend:
        failed = await backend.invoke("python-echo", b'{"fail": "kaboom"}')
        assert failed.function_error == "Unhandled" and failed.request_id
        assert (await backend.invoke("python-xray", b'{"items": [1, 2]}')).ok
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "invocations python-echo")
            table = app.screen.query_one("#invocations-table", ResourceTable)
            await until(pilot, lambda: failed.request_id in table.rows, "the failed invocation")
            table.move_cursor(row=table.get_row_index(failed.request_id))
            await pilot.press("enter")  # jump to this invocation's log lines
            pane = app.screen.query_one(LogsPane)
            await until(pilot, lambda: pane.lines, "its log lines")
            assert {line.request_id for line in pane.lines} == {failed.request_id}
            text = screen_text(app)
            assert f"request {failed.request_id[:8]}" in text
            assert "✖ [ERROR] Exception: kaboom" in text and "REPORT RequestId" in text

            await pilot.press("f", *"kaboom", "enter")  # a CloudWatch filter pattern
            await until(pilot, lambda: all("kaboom" in ln.message for ln in pane.lines), "filter")
            assert pane.lines and "START RequestId" not in screen_text(app)

            await command(pilot, "traces python-xray")
            traces = app.screen.query_one("#traces-table", ResourceTable)
            await until(pilot, lambda: traces.row_count >= 1, "a trace of python-xray")
            await pilot.press("enter")
            await until(pilot, lambda: "Invocation" in screen_text(app), "the waterfall")
            text = screen_text(app)
            assert "work" in text and "sample=True" in text and "ms" in text


async def test_logs_follow_new_lines_and_mark_them_when_scrolled_up(
    samples_engine: EngineProcess,
) -> None:
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "logs node-hello")
            pane = app.screen.query_one(LogsPane)
            await until(pilot, lambda: pane.loaded, "the first load")
            first = await backend.invoke("node-hello", b'{"name": "first"}')
            await until(
                pilot, lambda: any(ln.request_id == first.request_id for ln in pane.lines), "follow"
            )
            for _ in range(6):  # enough lines to scroll
                await backend.invoke("node-hello", b"{}")
            await until(pilot, lambda: len(pane.lines) >= 20, "more lines")
            await pilot.press("home")  # scroll up: new lines must not pull the reader down
            await settle(pilot)
            latest = await backend.invoke("node-hello", b'{"name": "latest"}')
            await until(
                pilot, lambda: any(ln.request_id == latest.request_id for ln in pane.lines), "more"
            )
            await until(pilot, lambda: "new lines (end)" in screen_text(app), "the marker")
            await pilot.press("end")
            await until(pilot, lambda: "new lines" not in screen_text(app), "the marker to go")
            assert "last 24h" in screen_text(app) and "follow" in screen_text(app)


async def test_metrics_come_from_the_engine(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        for _ in range(3):
            assert (await backend.invoke("python-xray", b'{"items": [1]}')).ok
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "metrics python-xray")
            await until(pilot, lambda: "engine metrics" in screen_text(app), "engine metrics")
            view = app.screen.query_one(MetricsView)
            assert view.remote is not None
            assert sum(view.remote[("Invocations", "Sum")].values) >= 3
            assert "concurrency" in screen_text(app) and "cost, last 5 min" in screen_text(app)


async def test_edit_configuration_and_reserved_concurrency(samples_engine: EngineProcess) -> None:
    lam = samples_engine.client()
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "config node-hello")
            screen = app.screen
            assert isinstance(screen, FunctionScreen)
            await until(pilot, lambda: screen.detail is not None, "the function detail")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, EditScreen), "the editor")
            await pilot.press("end", "backspace", "backspace", "backspace", *"64", "ctrl+s")
            await until(pilot, lambda: "between 128 and 10240" in screen_text(app), "range")
            await pilot.press("backspace", "backspace", *"256")
            await pilot.press("tab", "tab", "tab", *"5", "ctrl+s")
            await until(pilot, lambda: app.screen is screen, "the editor to close")
            await until(pilot, lambda: "256 MB" in screen_text(app), "the new memory size")
            assert "Reserved concurrency  5" in screen_text(app)
        assert lam.get_function_configuration(FunctionName="node-hello")["MemorySize"] == 256
        assert (
            lam.get_function_concurrency(FunctionName="node-hello")["ReservedConcurrentExecutions"]
            == 5
        )


async def test_views_say_plainly_what_a_backend_lacks() -> None:
    class WithoutLogs(SceneBackend):
        async def logs(self, query):  # type: ignore[no-untyped-def]
            raise NotAvailable("log queries")

        async def traces(self, name, *, start_ms=None, end_ms=None):  # type: ignore[no-untyped-def]
            raise NotAvailable("traces")

    app = LconsoleApp(WithoutLogs(), clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        await command(pilot, "logs python-echo")
        await until(pilot, lambda: "logs are not available yet" in screen_text(app), "logs")
        await pilot.press("7")
        await until(pilot, lambda: "traces are not available yet" in screen_text(app), "traces")


async def test_command_line_completes_and_explains_mistakes(
    samples_engine: EngineProcess,
) -> None:
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "bogus")
            assert "unknown command 'bogus'" in screen_text(app)
            await pilot.press("escape")
            await command(pilot, "logs nope")
            assert "no function named 'nope'" in screen_text(app)
            await pilot.press("escape")

            await pilot.press("colon", *"metr", "tab", "space", *"node", "tab", "enter")
            await until(pilot, lambda: isinstance(app.screen, FunctionScreen), "the function")
            assert app.screen.function == "node-hello"  # type: ignore[attr-defined]
            assert app.screen.query_one("#tabs").active == "metrics"  # type: ignore[attr-defined]

            await pilot.press("question_mark")
            await settle(pilot)
            text = screen_text(app)
            assert "function.publish" in text and "app.command" in text
            await pilot.press("escape", "escape")
            await until(pilot, lambda: not isinstance(app.screen, FunctionScreen), "going back")


async def test_read_only_hides_and_refuses_changes(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, read_only=True, poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await settle(pilot)
            text = screen_text(app)
            assert "READ-ONLY" in text and "invoke" not in text.splitlines()[-1]
            await pilot.press("i")
            await command(pilot, "invoke python-echo")
            assert not isinstance(app.screen, InvokeScreen)
            await command(pilot, "aliases python-echo")
            await settle(pilot)
            footer = screen_text(app).splitlines()[-1]
            assert "publish" not in footer and "traffic" not in footer
            await pilot.press("P", "t")
            assert isinstance(app.screen, FunctionScreen)


async def test_user_keymap_remaps_by_binding_id(samples_engine: EngineProcess) -> None:
    from lconsole.tui.keys import Keymap

    async with local_backend(samples_engine) as backend:
        app = LconsoleApp(backend, keymap=Keymap({"functions.invoke": "x"}), poll_s=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await pilot.press("i")
            assert not isinstance(app.screen, InvokeScreen)
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, InvokeScreen), "the remapped key")


async def test_engine_gone_keeps_the_picture_and_reconnects(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from urllib.parse import urlsplit

    from lconsole.backends.local import LocalBackend
    from lconsole.cli import endpoint

    state = tmp_path_factory.mktemp("gone")
    first = EngineProcess(state, "--samples").start()
    port = urlsplit(first.url).port
    try:
        reader = lambda: e.token if (e := endpoint.read(state / "engine.json")) else None  # noqa: E731
        async with LocalBackend(first.url, token=reader(), token_reader=reader) as backend:
            app = LconsoleApp(backend, poll_s=0.2)
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: app.state.loaded, "the function list")
                first.stop()
                await until(pilot, lambda: "engine unreachable" in screen_text(app), "banner")
                text = screen_text(app)
                assert "✖ disconnected" in text and "python-echo" in text  # kept what it had

                second = EngineProcess(state, "--port", str(port)).start()
                try:
                    await until(pilot, lambda: app.state.connected, "the reconnect", timeout=30)
                    await settle(pilot)
                    assert "engine unreachable" not in screen_text(app)
                    outcome = await backend.invoke("python-echo", b"{}")
                    assert outcome.ok
                    await until(
                        pilot,
                        lambda: app.state.invocations("python-echo"),
                        "invocations after the reconnect",
                    )
                finally:
                    second.stop()
    finally:
        first.stop()
