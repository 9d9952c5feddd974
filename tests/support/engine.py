"""Start a real `lconsole serve` process on a free loopback port, and stop it cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

STARTUP_TIMEOUT = 30.0


class EngineProcess:
    def __init__(self, state_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.extra = extra
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self) -> EngineProcess:
        env = {**os.environ, **(self.env or {})}
        env.pop("AWS_PROFILE", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lconsole",
                "serve",
                "--port",
                "0",
                "--state-dir",
                str(self.state_dir),
                *self.extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.proc.stdout

        def pump() -> None:  # keeps draining so a chatty engine never blocks on its pipe
            for line in stdout:
                lines.put(line)
            lines.put("")

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        self._lines = lines
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not line:
                break
            self.output.append(line)
            if "listening on " in line:
                self.url = line.rsplit("listening on ", 1)[1].strip()
                return self
        self.stop()
        raise RuntimeError("engine did not start:\n" + "".join(self.output))

    @property
    def endpoint(self) -> dict:
        return json.loads((self.state_dir / "engine.json").read_text())

    def client(self, service: str = "lambda", **config: object):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, **config),  # type: ignore[arg-type]
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        pump = getattr(self, "_pump", None)
        if pump is not None:
            pump.join(5)
            while not self._lines.empty():
                self.output.append(self._lines.get_nowait())
        if self.proc.stdout:
            self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def __enter__(self) -> EngineProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
