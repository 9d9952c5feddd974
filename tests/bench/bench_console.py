"""Console benchmarks; prints ONE JSON object to stdout.

Run from the repo root:  PYTHONPATH=. python tests/bench/bench_console.py
(`--quick` for a ~3 minute smoke run). Progress goes to stderr. See tests/bench/README.md.

Measures, with a real engine (`lconsole serve --samples`) already running and the real `lconsole`
command in a tmux pane of 80x24 on a tmux server of our own: (1) first frame, spawn to the
Functions view listing the samples; (2) key to screen under a steady ~500 invocations/s load on
the python-echo sample, read from tmux's own screen, and the same in-process with Textual's
pilot; (3) the console process's RSS every 10 s under that load, and its slope.

The screen is read through one tmux control-mode client (`tmux -C`): a capture-pane round trip
there costs ~0.05 ms, against ~3 ms for a `tmux capture-pane` process, so polling every 10 ms
neither loads the machine nor blurs the figures by more than the poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import http.client
import json
import multiprocessing
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.engine import EngineProcess

LOAD_FUNCTION = "python-echo"
SAMPLES = ("node-hello", "python-echo", "python-xray", "shell-bootstrap")
SIZE = (80, 24)
WAIT_S = 30.0  # bound for anything the console should do well within a second
PRESS_TIMEOUT_S = 5.0
TARGETS = {  # figure: (target, "max" means figure <= target)
    "first_frame_p50_s": 1.0,
    "key_to_screen_p99_ms": 100.0,
    "memory_slope_mb_per_min": 0.25,  # "flat": under 2.5 MB over ten minutes
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary(values: list[float], unit: str = "ms") -> dict[str, float | int | None]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        f"p50_{unit}": r3(pct(values, 50)),
        f"p90_{unit}": r3(pct(values, 90)),
        f"p99_{unit}": r3(pct(values, 99)),
        f"max_{unit}": r3(max(values)),
        f"mean_{unit}": r3(statistics.fmean(values)),
    }


def loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def machine() -> dict[str, object]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=10)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tmux": tmux.stdout.strip(),
        "loadavg_start": loadavg(),
    }


# /proc --------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """VmRSS of one process in MB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds the process's main thread (the console's event loop) ran, and waited for a CPU."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            run_ns, wait_ns = f.read().split()[:2]
    except OSError:
        return 0.0, 0.0
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idle and iowait, since boot."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    found, todo = [pid], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


@dataclass(frozen=True)
class Usage:
    """Where the machine's CPU went, at one instant; `Usage.since` turns two into shares."""

    wall: float
    machine: float
    console: float
    loop_run: float
    loop_wait: float
    engine: float  # the engine and every process below it (environments)
    load: float

    @classmethod
    def now(cls, console: int, engine: int, load: int | None) -> Usage:
        run, wait = schedstat(console)
        return cls(
            time.monotonic(),
            machine_busy_seconds(),
            cpu_seconds(console) or 0.0,
            run,
            wait,
            sum(cpu_seconds(p) or 0.0 for p in descendants(engine)),
            (cpu_seconds(load) or 0.0) if load else 0.0,
        )

    def since(self, start: Usage) -> dict[str, float]:
        """Percent of one CPU, over the time between the two."""
        span = max(1e-9, self.wall - start.wall)

        def share(now: float, then: float) -> float:
            return round((now - then) / span * 100, 1)

        return {
            "seconds": round(span, 1),
            "machine_busy": share(self.machine, start.machine),  # of nproc x 100
            "console": share(self.console, start.console),
            "console_loop_running": share(self.loop_run, start.loop_run),
            "console_loop_waiting_for_cpu": share(self.loop_wait, start.loop_wait),
            "engine_and_environments": share(self.engine, start.engine),
            "load_generator": share(self.load, start.load),
        }


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def console_pid(pane_pid: int) -> int | None:
    """The `lconsole` process in a pane: the pane's process or the first one below it."""
    todo = [pane_pid]
    while todo:
        pid = todo.pop(0)
        argv = cmdline(pid).split()
        if (
            argv
            and Path(argv[0]).name not in ("sh", "env")
            and any(a.endswith("bin/lconsole") for a in argv[:2])
        ):
            return pid
        todo.extend(children(pid))
    return None


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}") or _zombie(pid):
            return True
        time.sleep(0.02)
    return False


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# tmux ---------------------------------------------------------------------------------------


class TmuxError(RuntimeError):
    pass


class Tmux:
    """A tmux server on its own socket, driven through one control-mode client.

    The control client sits on a session of its own (`base`); each console gets its own
    session, created at 80x24 and never attached, so nothing resizes it.
    """

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self._client: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        w, h = SIZE
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "base",
                "-x",
                str(w),
                "-y",
                str(h),
                "sleep 86400",
            ],
            check=True,
            timeout=10,
            capture_output=True,
        )
        self._client = subprocess.Popen(
            ["tmux", "-L", self.socket, "-C", "attach", "-t", "base"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self._reply()  # the block that answers the attach itself
        self.command("refresh-client -f no-output")  # no %output notifications, only replies
        self.command("set-option -g remain-on-exit on")  # a console that fails leaves its output

    def _reply(self) -> list[str]:
        assert self._client is not None and self._client.stdout is not None
        out: list[str] = []
        inside = False
        while True:
            raw = self._client.stdout.readline()
            if not raw:
                raise TmuxError("the tmux control client went away")
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("%begin"):
                inside, out = True, []
            elif inside and line.startswith("%end"):
                return out
            elif inside and line.startswith("%error"):
                raise TmuxError("\n".join(out) or line)
            elif inside:
                out.append(line)
            # anything else is a notification (%session-changed, %exit, ...): ignored

    def command(self, line: str) -> list[str]:
        """Run one tmux command; its output lines. Safe to call from several threads."""
        with self._lock:
            assert self._client is not None and self._client.stdin is not None
            self._client.stdin.write(line.encode() + b"\n")
            return self._reply()

    def screen(self, session: str) -> str:
        return "\n".join(self.command(f"capture-pane -p -t {session}"))

    def keys(self, session: str, *keys: str, literal: bool = False) -> None:
        flag = "-l " if literal else ""
        for key in keys:
            self.command(f"send-keys -t {session} {flag}{_quote(key)}")

    def new_session(self, name: str, shell_command: str) -> None:
        w, h = SIZE
        self.command(f"new-session -d -s {name} -x {w} -y {h} {_quote(shell_command)}")

    def pane_pid(self, session: str) -> int:
        return int(self.command(f"display -p -t {session} '#{{pane_pid}}'")[0])

    def kill_session(self, session: str) -> None:
        try:
            self.command(f"kill-session -t {session}")
        except TmuxError:
            pass

    def stop(self) -> None:
        if self._client is not None:
            if self._client.stdin:
                self._client.stdin.close()
            try:
                self._client.wait(5)
            except subprocess.TimeoutExpired:
                self._client.kill()
                self._client.wait(5)
            if self._client.stdout:
                self._client.stdout.close()
            self._client = None
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def _quote(text: str) -> str:
    """Single-quote for tmux's command parser (no escapes inside single quotes)."""
    if "'" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
    return f"'{text}'"


@dataclass(frozen=True)
class Change:
    """What a key press should do to the screen: texts that must show, texts that must not."""

    appear: tuple[str, ...] = ()
    vanish: tuple[str, ...] = ()

    def seen(self, screen: str) -> bool:
        return all(t in screen for t in self.appear) and not any(t in screen for t in self.vanish)


@dataclass
class Poller:
    tmux: Tmux
    session: str
    interval_s: float = 0.010
    probe_ms: list[float] = field(default_factory=list)

    def until(self, change: Change, timeout: float, since: float | None = None) -> float:
        """Seconds from `since` (now if None) to the first capture showing `change`.

        The capture's request time is taken, so the figure overstates by at most one poll
        interval plus one round trip; raises TimeoutError after `timeout`.
        """
        start = time.perf_counter() if since is None else since
        deadline = start + timeout
        while True:
            asked = time.perf_counter()
            screen = self.tmux.screen(self.session)
            self.probe_ms.append((time.perf_counter() - asked) * 1000)
            if change.seen(screen):
                return asked - start
            if asked > deadline:
                raise TimeoutError(f"{change} not on screen after {timeout} s:\n{screen}")
            next_at = asked + self.interval_s
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)


# the console ---------------------------------------------------------------------------------


class Console:
    """One real `lconsole` process in its own tmux session, attached to `state`'s engine."""

    def __init__(self, tmux: Tmux, name: str, state: Path, scratch: Path) -> None:
        self.tmux = tmux
        self.name = name
        script = scratch / f"{name}.sh"
        env = {"TERM": "xterm-256color", "XDG_CONFIG_HOME": str(scratch / "config")}
        exe = Path(sys.executable).parent / "lconsole"
        argv = [str(exe), "--state-dir", str(state)]
        script.write_text(
            "exec env "
            + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            + " "
            + " ".join(shlex.quote(a) for a in argv)
            + "\n"
        )
        self.command = f"exec sh {shlex.quote(str(script))}"
        self.pid: int | None = None
        self.poll = Poller(tmux, name)

    def spawn(self) -> float:
        """Start it; returns the perf_counter time just before tmux was asked to."""
        t0 = time.perf_counter()
        self.tmux.new_session(self.name, self.command)
        return t0

    def find_pid(self) -> int:
        pane = self.tmux.pane_pid(self.name)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            pid = console_pid(pane)
            if pid is not None:
                self.pid = pid
                return pid
            time.sleep(0.01)
        raise RuntimeError(f"no lconsole process under pane pid {pane}")

    def screen(self) -> str:
        return self.tmux.screen(self.name)

    def wait_for(self, text: str, timeout: float = WAIT_S) -> None:
        self.poll.until(Change((text,)), timeout)

    def quit(self) -> None:
        """`q`, then wait for the process to end; the session is removed either way."""
        pid = self.pid
        try:
            self.tmux.keys(self.name, "q", literal=True)
            if pid is not None and not wait_gone(pid, 10):
                log(f"{self.name}: still running 10 s after q; killing its session")
        finally:
            self.tmux.kill_session(self.name)
            if pid is not None and not wait_gone(pid, 5):
                os.kill(pid, 9)


# load ----------------------------------------------------------------------------------------


def _load_process(
    url: str,
    function: str,
    rate: float,
    threads: int,
    stop: MpEvent,
    done: Synchronized,
    out: Connection,
) -> None:
    """In its own process (so it never shares a GIL with what is measured): paced invokes.

    Each thread owns one keep-alive http.client connection and keeps its share of `rate` on a
    fixed schedule; a thread more than a second behind restarts its schedule (counted).
    """
    parts = urlsplit(url)
    path = f"/2015-03-31/functions/{function}/invocations"
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    resets = [0] * threads

    def run(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        per_thread = rate / threads
        t0 = time.monotonic() + index / rate  # stagger the threads over one interval
        n = 0
        while not stop.is_set():
            due = t0 + n / per_thread
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 1.0:
                resets[index] += 1
                t0, n = now, 0
            body = json.dumps({"n": n, "thread": index}).encode()
            started = time.perf_counter()
            try:
                conn.request("POST", path, body)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200 or resp.getheader("X-Amz-Function-Error"):
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            latencies[index].append((time.perf_counter() - started) * 1000)
            with done.get_lock():
                done.value += 1
            n += 1
        conn.close()

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    stop.wait()
    for w in workers:
        w.join(60)  # each is at most one invoke away from seeing `stop`
    every = [x for rows in latencies for x in rows]
    out.send(
        {
            "invokes": len(every),
            "errors": sum(errors),
            "schedule_resets": sum(resets),
            "latency": summary(every),
        }
    )


class Load:
    """~`rate` invokes/s of `function` from another process, until `stop()`."""

    def __init__(self, url: str, function: str, rate: float, threads: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._done = ctx.Value("q", 0)
        self._mine, theirs = ctx.Pipe()
        self._proc = ctx.Process(
            target=_load_process,
            args=(url, function, rate, threads, self._stop, self._done, theirs),
            daemon=True,
        )
        self.rate = rate
        self.threads = threads
        self.report: dict[str, Any] = {}

    def start(self) -> None:
        self._proc.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def check(self) -> None:
        """Figures taken without the load would be no figures at all."""
        if not self._proc.is_alive():
            raise RuntimeError(f"the load generator stopped (exit code {self._proc.exitcode})")

    @property
    def done(self) -> int:
        return int(self._done.value)

    def wait_flowing(self, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while self.done < self.rate and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.done < self.rate:
            raise RuntimeError(f"load did not start: {self.done} invokes in {timeout} s")

    def stop(self) -> dict[str, Any]:
        if self._proc.pid is None:
            return {}
        self._stop.set()
        if self._mine.poll(60):
            self.report = self._mine.recv()
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        return self.report


class Rate:
    """Achieved invokes/s over one phase, from the load process's counter."""

    def __init__(self, load: Load) -> None:
        self.load = load
        self.t0 = time.monotonic()
        self.n0 = load.done

    def per_s(self) -> float:
        return round((self.load.done - self.n0) / max(1e-9, time.monotonic() - self.t0), 1)


# (1) first frame -----------------------------------------------------------------------------


def bench_first_frame(tmux: Tmux, state: Path, scratch: Path, runs: int) -> dict[str, object]:
    paint: list[float] = []
    content: list[float] = []
    for i in range(runs):
        console = Console(tmux, f"first{i}", state, scratch)
        t0 = console.spawn()
        try:
            paint.append(console.poll.until(Change(("lconsole",)), WAIT_S, t0))
            content.append(console.poll.until(Change(SAMPLES), WAIT_S, t0))
            console.find_pid()
            log(
                f"first frame {i + 1}/{runs}: paint {paint[-1]:.3f} s, "
                f"functions {content[-1]:.3f} s"
            )
        finally:
            console.quit()
    return {
        "runs": runs,
        "what": "spawn (tmux new-session) to a capture-pane showing the named text",
        "first_paint_s": summary(paint, "s"),  # any console text: the top bar
        "functions_listed_s": summary(content, "s"),  # the sample rows of the Functions view
        "each_s": [r3(x) for x in content],
    }


# (2) key to screen ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Toggle:
    """Two presses that undo each other, each with what it visibly does."""

    label: str
    there: str  # key (tmux name, sent literally)
    there_shows: Change
    back: str
    back_shows: Change


def _tmux_toggles() -> list[tuple[str, Toggle]]:
    return [
        (
            "functions",
            Toggle(
                "? opens help, ? closes it",
                "?",
                Change(("Keys: functions",)),
                "?",
                Change(vanish=("Keys: functions",)),
            ),
        ),
        (
            "function",
            Toggle(
                "4 shows envs, 5 shows invocations",
                "4",
                Change(("ENVIRONMENT",)),
                "5",
                Change(("REQUEST",), ("ENVIRONMENT",)),
            ),
        ),
    ]


def _press_series(console: Console, toggle: Toggle, presses: int) -> dict[str, object]:
    there: list[float] = []
    back: list[float] = []
    timeouts = 0
    for _ in range(presses):
        for key, change, into in (
            (toggle.there, toggle.there_shows, there),
            (toggle.back, toggle.back_shows, back),
        ):
            time.sleep(random.uniform(0.05, 0.30))  # land on every phase of the redraw tick
            t0 = time.perf_counter()
            console.tmux.keys(console.name, key, literal=True)
            try:
                into.append(console.poll.until(change, PRESS_TIMEOUT_S, t0) * 1000)
            except TimeoutError:
                timeouts += 1
                into.append(PRESS_TIMEOUT_S * 1000)
                console.poll.until(change, WAIT_S, t0)
    both = there + back
    return {
        "keys": toggle.label,
        "presses": len(both),
        "timeouts": timeouts,
        "all": summary(both),
        "there": summary(there),
        "back": summary(back),
    }


def _open_function(console: Console) -> None:
    console.tmux.keys(console.name, ":", literal=True)
    console.wait_for("(tab completes)")  # the command line has the focus: type into it
    console.tmux.keys(console.name, f"function {LOAD_FUNCTION}", literal=True)
    console.tmux.keys(console.name, "Enter")
    console.wait_for(f"functions › {LOAD_FUNCTION}")
    console.wait_for("REQUEST")


def bench_keys_tmux(
    tmux: Tmux,
    state: Path,
    scratch: Path,
    engine_pid: int,
    load: Load | None,
    presses: int,
    escape_presses: int,
) -> dict[str, object]:
    """Key to screen in tmux; with `load` None, the same on an idle engine (the floor)."""
    console = Console(tmux, "keys" if load else "keys-idle", state, scratch)
    console.spawn()
    out: dict[str, object] = {}
    try:
        console.wait_for(SAMPLES[-1])
        pid = console.find_pid()
        rate = Rate(load) if load else None
        for view, toggle in _tmux_toggles():
            if view == "function":
                _open_function(console)
            log(f"tmux, {view} view: {presses} x 2 presses ({toggle.label})")
            before = Usage.now(pid, engine_pid, load.pid if load else None)
            out[view] = _press_series(console, toggle, presses)
            usage = Usage.now(pid, engine_pid, load.pid if load else None).since(before)
            if load:
                load.check()
            out[view]["cpu_percent"] = usage  # type: ignore[index]
            log(f"  -> {out[view]['all']}")  # type: ignore[index]
            log(f"     cpu {usage}")
        console.tmux.keys(console.name, "Escape")
        console.wait_for("lconsole › functions ")
        out["escape"] = _escape_series(console, escape_presses)
        out["load_per_s"] = rate.per_s() if rate else 0
        out["probe_roundtrip"] = summary(console.poll.probe_ms)
        out["poll_interval_ms"] = console.poll.interval_s * 1000
    finally:
        console.quit()
    return out


def _escape_series(console: Console, presses: int) -> dict[str, object]:
    """`escape` closing help: Textual waits ESCDELAY (100 ms) to tell a lone ESC from a
    sequence, so this is reported apart from the target."""
    closed: list[float] = []
    for _ in range(presses):
        console.tmux.keys(console.name, "?", literal=True)
        console.poll.until(Change(("Keys: functions",)), WAIT_S)
        time.sleep(random.uniform(0.05, 0.30))
        t0 = time.perf_counter()
        console.tmux.keys(console.name, "Escape")
        closed.append(console.poll.until(Change(vanish=("Keys: functions",)), WAIT_S, t0) * 1000)
    return {"keys": "escape closes help", "latency": summary(closed)}


# (2b) the same in-process, with Textual's pilot ------------------------------------------------


class Collections:
    """Every garbage collection in this process, from `gc.callbacks`: generation and ms."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []
        self._t0 = 0.0

    def __enter__(self) -> Collections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seen.append((info["generation"], (time.perf_counter() - self._t0) * 1000))

    def report(self) -> dict[str, object]:
        full = [ms for gen, ms in self.seen if gen == 2]
        young = [ms for gen, ms in self.seen if gen < 2]
        return {
            "full": {"count": len(full), "max_ms": r3(max(full, default=None))},
            "young": {"count": len(young), "p99_ms": r3(pct(young, 99)) if young else None},
            "tracked_objects_at_end": len(gc.get_objects()),
            "full_collection_now": full_collection_now(),
        }


def full_collection_now() -> dict[str, float | int | None]:
    """What the next full collection costs: what the series left for it, and its time."""
    t0 = time.perf_counter()
    found = gc.collect()
    return {"ms": r3((time.perf_counter() - t0) * 1000), "garbage_objects": found}


def bench_keys_pilot(
    engine: EngineProcess, load: Load, presses: int, pilot_presses: int
) -> dict[str, object]:
    """The console in-process (`app.run_test()`, headless) on the same loaded engine.

    `key_to_frame`: a key event handed to the app the way its terminal driver does, until the
    first frame the app makes (its `_display`, where a terminal app writes the update) that
    shows the change, read off the compositor's strips right then. This leaves out the
    terminal and tmux. (Reading the frame every 10 ms instead, as this did before, rendered
    the whole screen 100 times a second inside the loop it measured.) `pilot_press`: how
    long `await pilot.press(key)` takes; it waits for the process to go idle (Textual's
    `wait_for_idle`, at most 1 s, twice), which a console fed 500 events/s never does, so
    it is reported only to show why it is not used.
    On a terminal the console keeps full garbage collections for quiet moments, not
    headless; this does the same, so both variants measure one console.
    `garbage_collections`: the collections during each press series (`gc.callbacks`), the
    objects tracked at its end, and one full collection timed right after it, which is what
    the next full collection would cost (the cyclic garbage the series left, and its walk).
    """

    from textual import events

    from lconsole.tui.app import LconsoleApp
    from tests.tui.helpers import local_backend, screen_text

    views = [
        (
            "functions",
            "? opens help, ? closes it",
            [
                ("question_mark", "?", Change(("Keys: functions",))),
                ("question_mark", "?", Change(vanish=("Keys: functions",))),
            ],
        ),
        (
            "function",
            "4 shows envs, 5 shows invocations",
            [
                ("4", "4", Change(("ENVIRONMENT",))),
                ("5", "5", Change(("REQUEST",), ("ENVIRONMENT",))),
            ],
        ),
    ]

    async def main() -> dict[str, object]:
        out: dict[str, object] = {}
        async with local_backend(engine) as backend:
            app = LconsoleApp(backend)
            async with app.run_test(size=SIZE) as pilot:
                app.collect_garbage_when_idle()  # as on a terminal; headless apps do not

                watchers: list[Callable[[], None]] = []
                display = app._display

                def displayed(screen: object, renderable: object) -> None:
                    display(screen, renderable)  # type: ignore[arg-type]
                    if renderable is not None:
                        for watch in list(watchers):
                            watch()

                app._display = displayed  # type: ignore[method-assign]

                async def until(change: Change, start: float, timeout: float = WAIT_S) -> float:
                    """Time from `start` to the first frame the app makes that shows `change`."""
                    if change.seen(screen_text(app)):
                        return (time.perf_counter() - start) * 1000
                    seen: asyncio.Future[float] = asyncio.get_running_loop().create_future()

                    def watch() -> None:
                        made = time.perf_counter()
                        if not seen.done() and change.seen(screen_text(app)):
                            seen.set_result(made)

                    watchers.append(watch)
                    try:
                        left = timeout - (time.perf_counter() - start)
                        made = await asyncio.wait_for(seen, max(0.0, left))
                    except TimeoutError:
                        raise TimeoutError(f"{change}:\n{screen_text(app)}") from None
                    finally:
                        watchers.remove(watch)
                    return (made - start) * 1000

                async def loaded() -> None:
                    deadline = time.monotonic() + WAIT_S
                    while len(app.state.invocations(LOAD_FUNCTION)) < 100:
                        if time.monotonic() > deadline:
                            raise TimeoutError("no live invocations reached the app")
                        await asyncio.sleep(0.05)

                await loaded()
                rate = Rate(load)
                for view, label, steps in views:
                    if view == "function":
                        app.open_function(LOAD_FUNCTION)
                        await until(Change(("REQUEST",)), time.perf_counter())
                    shown: list[float] = []
                    log(f"pilot, {view} view: {presses} x 2 key events")
                    with Collections() as collections:
                        for _ in range(presses):
                            for name, char, change in steps:
                                await asyncio.sleep(random.uniform(0.05, 0.30))
                                event = events.Key(name, char)
                                event.set_sender(app)
                                t0 = time.perf_counter()
                                app._driver.send_message(event)  # type: ignore[union-attr]
                                shown.append(await until(change, t0, PRESS_TIMEOUT_S))
                        garbage = collections.report()
                    pressed: list[float] = []
                    for _ in range(pilot_presses):
                        for name, _char, change in steps:
                            t0 = time.perf_counter()
                            await pilot.press(name)
                            pressed.append((time.perf_counter() - t0) * 1000)
                            await until(change, t0)
                    out[view] = {
                        "keys": label,
                        "key_to_frame": summary(shown),
                        "pilot_press": summary(pressed),
                        "garbage_collections": garbage,
                    }
                    log(f"  -> key to frame {out[view]['key_to_frame']}")  # type: ignore[index]
                out["load_per_s"] = rate.per_s()
                out["measured_at"] = "each frame the app makes (App._display)"
                load.check()
        return out

    return asyncio.run(main())


# (3) memory ----------------------------------------------------------------------------------


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (minutes, MB) points, in MB per minute."""
    if len(points) < 2:
        return None
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def bench_memory(
    tmux: Tmux,
    state: Path,
    scratch: Path,
    engine_pid: int,
    load: Load,
    minutes: float,
    every_s: float,
) -> dict[str, object]:
    console = Console(tmux, "memory", state, scratch)
    console.spawn()
    try:
        console.wait_for(SAMPLES[-1])
        pid = console.find_pid()
        _open_function(console)  # the busiest view: its 100 rows are all new at every redraw
        rate = Rate(load)
        samples: list[tuple[float, float]] = []
        before = Usage.now(pid, engine_pid, load.pid)
        t0 = time.monotonic()
        end = t0 + minutes * 60
        while True:
            now = time.monotonic()
            mb = rss_mb(pid)
            if mb is None:
                raise RuntimeError("the console exited during the memory run")
            load.check()
            samples.append(((now - t0) / 60, mb))
            log(f"memory {samples[-1][0]:5.2f} min: {mb:.1f} MB (load {rate.per_s()}/s)")
            if now >= end:
                break
            time.sleep(max(0.0, min(every_s, end - now) - (time.monotonic() - now)))
        usage = Usage.now(pid, engine_pid, load.pid).since(before)
        if "REQUEST" not in console.screen():
            raise RuntimeError("the console left the invocations view")
        half = samples[len(samples) // 2 :]
        slope = slope_per_min(half)
        return {
            "view": f"{LOAD_FUNCTION} invocations",
            "minutes": minutes,
            "every_s": every_s,
            "samples": len(samples),
            "first_mb": round(samples[0][1], 1),
            "last_mb": round(samples[-1][1], 1),
            "max_mb": round(max(mb for _, mb in samples), 1),
            "slope_second_half_mb_per_min": r3(slope),
            "slope_all_mb_per_min": r3(slope_per_min(samples)),
            "series_mb": [[round(m, 2), round(mb, 1)] for m, mb in samples],
            "cpu_percent": usage,
            "load_per_s": rate.per_s(),
        }
    finally:
        console.quit()


# main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="first-frame runs")
    ap.add_argument("--rate", type=float, default=500.0, help="load, invokes per second")
    ap.add_argument("--threads", type=int, default=8, help="load threads (one connection each)")
    ap.add_argument("--presses", type=int, default=100, help="toggles per view (2 presses each)")
    ap.add_argument("--escape-presses", type=int, default=20)
    ap.add_argument("--pilot-presses", type=int, default=3, help="timed `pilot.press` toggles")
    ap.add_argument("--minutes", type=float, default=10.0, help="memory run length")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("first", "tmux", "pilot", "memory"),
        help="leave a section out",
    )
    ap.add_argument("--quick", action="store_true", help="~3 minute smoke run")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.presses, args.escape_presses, args.minutes = 3, 15, 5, 1.0
        args.pilot_presses = 1
    if shutil.which("tmux") is None:
        sys.exit("bench_console needs tmux")
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "options": {k: v for k, v in vars(args).items() if k != "skip"},
    }
    scratch = Path(tempfile.mkdtemp(prefix="lconsole-bench-console-"))
    state = scratch / "state"
    engine = EngineProcess(state, "--samples", "--idle-ttl", "3600")
    tmux = Tmux(f"lconsole-bench-{os.getpid()}")
    load: Load | None = None
    try:
        engine.start()
        tmux.start()
        engine_pid = int(engine.endpoint["pid"])
        log(f"engine at {engine.url}; tmux socket {tmux.socket}")
        if "first" not in args.skip:
            result["first_frame"] = bench_first_frame(tmux, state, scratch, args.runs)
        if "tmux" not in args.skip:
            log("tmux, no load: the floor")
            result["keys_tmux_idle"] = bench_keys_tmux(
                tmux,
                state,
                scratch,
                engine_pid,
                None,
                max(10, args.presses // 2),
                args.escape_presses,
            )
        load = Load(engine.url, LOAD_FUNCTION, args.rate, args.threads)
        load.start()
        load.wait_flowing()
        log(f"load: {args.rate:g} invokes/s of {LOAD_FUNCTION} on {args.threads} threads")
        if "tmux" not in args.skip:
            result["keys_tmux"] = bench_keys_tmux(
                tmux, state, scratch, engine_pid, load, args.presses, args.escape_presses
            )
        if "pilot" not in args.skip:
            result["keys_pilot"] = bench_keys_pilot(engine, load, args.presses, args.pilot_presses)
        if "memory" not in args.skip:
            result["memory"] = bench_memory(
                tmux, state, scratch, engine_pid, load, args.minutes, args.every
            )
    finally:
        if load is not None:
            result["load"] = {"rate_asked_per_s": args.rate, "threads": args.threads, **load.stop()}
        tmux.stop()
        code = engine.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        log(f"stopped tmux, load and engine ({code})")
    result["targets"] = _targets(result)
    result["machine"]["loadavg_end"] = loadavg()
    print(json.dumps(result, indent=2))


def _targets(result: dict[str, Any]) -> dict[str, object]:
    checks: dict[str, float | None] = {}
    if "first_frame" in result:
        checks["first_frame_p50_s"] = result["first_frame"]["functions_listed_s"]["p50_s"]
    tmux, pilot = result.get("keys_tmux", {}), result.get("keys_pilot", {})
    for view in ("functions", "function"):
        if view in tmux:
            figure = tmux[view]["all"]["p99_ms"]
            checks[f"key_to_screen_p99_ms (tmux, {view} view)"] = figure
        if view in pilot:
            figure = pilot[view]["key_to_frame"]["p99_ms"]
            checks[f"key_to_screen_p99_ms (in-process, {view} view)"] = figure
    if "memory" in result:
        checks["memory_slope_mb_per_min"] = result["memory"]["slope_second_half_mb_per_min"]
    out: dict[str, object] = {}
    for name, figure in checks.items():
        target = TARGETS[name.split(" ", 1)[0]]
        passed = figure is not None and (
            abs(figure) <= target if name.startswith("memory") else figure <= target
        )
        out[name] = {"figure": figure, "target": target, "pass": passed}
    return out


if __name__ == "__main__":
    main()
