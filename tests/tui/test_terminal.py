"""End to end: the real `lconsole` command in a real terminal (tmux) at 80x24.

It starts its own engine, lists the samples, invokes one, publishes, shifts an alias, and every
check reads the screen as a person would.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lconsole.cli import launcher

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Terminal:
    """One tmux server of our own (its own socket), one 80x24 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "lc", "-x", "80", "-y", "24", command)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "lc", key)
            time.sleep(0.15)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", "lc", "-p")

    def wait_for(self, text: str, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def stop(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(f"lconsole-test-{os.getpid()}")
    try:
        yield term
    finally:
        term.stop()


def test_console_in_a_real_terminal(terminal: Terminal, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in {"XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"}.items()
    )
    command = (
        f"cd {shlex.quote(str(ROOT))} && {env} {shlex.quote(sys.executable)} -m lconsole "
        f"--state-dir {shlex.quote(str(state))} --port 0; echo CONSOLE-EXITED $?; sleep 60"
    )
    terminal.start(command)
    try:
        screen = terminal.wait_for("shell-bootstrap")
        assert "python-echo" in screen and "lconsole › functions" in screen

        terminal.keys("Down", "Enter")  # python-echo
        terminal.wait_for("lconsole › functions › python-echo")
        terminal.keys("i")
        terminal.wait_for("Invoke python-echo")
        terminal.keys("C-s")
        screen = terminal.wait_for("200 ok")
        assert "cold" in screen and "billed" in screen

        terminal.keys("Escape")
        screen = terminal.wait_for("success")
        assert "❄ cold" in screen

        terminal.keys("P")
        terminal.wait_for("published")
        found = launcher.find_engine(state)
        assert found is not None
        lam = boto3.client(
            "lambda",
            endpoint_url=found.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}),
        )
        lam.update_function_configuration(FunctionName="python-echo", Description="next")
        lam.publish_version(FunctionName="python-echo")
        lam.create_alias(FunctionName="python-echo", Name="live", FunctionVersion="1")

        terminal.keys("r", "3")
        terminal.wait_for("v1 100%")
        terminal.keys("t")
        terminal.wait_for("Traffic of python-echo:live")
        terminal.keys("]", "Right", "Enter")
        terminal.wait_for("y applies")
        terminal.keys("y")
        terminal.wait_for("✔ applied")
        alias = lam.get_alias(FunctionName="python-echo", Name="live")
        assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.11}

        terminal.keys("Escape")
        screen = terminal.wait_for("v2 11%")
        assert "v1 89%" in screen

        terminal.keys("q")
        screen = terminal.wait_for("CONSOLE-EXITED 0")
        assert "the engine keeps running" in screen
    finally:
        endpoint = state / "engine.json"
        if endpoint.exists():  # the console started this engine; stop it
            pid = json.loads(endpoint.read_text())["pid"]
            if launcher.pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 20
                while launcher.pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
