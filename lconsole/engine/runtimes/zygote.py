"""A pre-initialised Python runtime that forks new execution environments (run as a script).

Started once per engine as `python -S zygote.py SITE_DIRS NAMESPACE_PY FD`, FD being its
control socket (SOCK_SEQPACKET). It imports what awslambdaric needs, then forks one child per
request: the child takes its output pipe and namespace from the request's file descriptors,
becomes the function's process (environment, working directory, sys.path, argv) and runs
awslambdaric as `python -S -c` would, from this script's top level, so exit codes, tracebacks,
atexit and thread shutdown behave as in a fresh interpreter. A cold start then costs a fork
and the handler's own import instead of an interpreter start and awslambdaric's imports.

The zygote reaps its children and reports each exit status (as `asyncio` gives returncodes:
negative for a signal). When the engine goes away (the control socket closes) it kills its
children's process groups and exits. Only the standard library is imported here: a function
must not find the engine on its path.

Messages are JSON. In: {"id", "args", "env", "cwd", "namespace": null | {"code", "opt",
"tmp"} | "enter"} with fds [output] or [output, namespace]. Out: {"ready": pid} once, then
{"id", "pid"} or {"id", "error"} per request and {"exit": pid, "code"} per child.
"""

import importlib.util
import json
import os
import select
import selectors
import signal
import socket
import sys
import time

del sys.path[0]  # this script's directory: nothing there is for functions
MAX_MESSAGE = 1 << 20
SETUP_TIMEOUT_S = 10.0


def _load_namespace(path):
    """The engine's namespace module, by file: its syscalls run in the child before the function."""
    spec = importlib.util.spec_from_file_location("_lconsole_namespace", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The modules each child imports afresh: bootstrap reads the log format and level from the
# environment when imported, and lambda_runtime_client loads the native client, whose library
# takes AWS_LAMBDA_RUNTIME_API when it is loaded (once per process). awslambdaric's other
# modules read the environment only when called.
FRESH = ("awslambdaric.bootstrap", "awslambdaric.lambda_runtime_client")


def _preload(site_dirs):
    """What every runtime imports, once: awslambdaric and its dependencies, but not FRESH."""
    sys.path.extend(site_dirs)
    import ctypes
    import runpy  # noqa: F401
    import site  # noqa: F401

    try:  # the C++ runtime the native client links: a child's load of it is then half as long
        ctypes.CDLL("libstdc++.so.6")
    except OSError:
        pass
    sys.modules["runtime_client"] = None  # awslambdaric then imports without its native client
    try:
        import awslambdaric.bootstrap  # noqa: F401
    finally:
        del sys.modules["runtime_client"]
    package = sys.modules["awslambdaric"]
    for name in FRESH:  # gone from the package too, or `from . import bootstrap` finds it there
        sys.modules.pop(name, None)
        package.__dict__.pop(name.rpartition(".")[2], None)


def _send(control, message):
    control.send(json.dumps(message).encode())


def _setup_child(request, fds, namespace):
    """In the child: its own session, output and namespace, then tell the zygote it is ready."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a new interpreter's dispositions
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[0], 2)
    where = request.get("namespace")
    if where == "enter":
        namespace.enter(fds[1], None)
    elif where:
        namespace.build(
            os.fsencode(where["code"]), os.fsencode(where["opt"]), where["tmp"].encode(), None
        )
    else:
        os.chdir(request["cwd"])


def _fork(control, request, fds, namespace):
    """Fork one environment's process: (True, None) in the child, (False, pid or None) here."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        try:
            _setup_child(request, fds, namespace)
        except BaseException as exc:
            os.write(ready_w, (str(exc) or type(exc).__name__).encode()[:4000])
            os._exit(127)
        os.write(ready_w, b"\0")
        os.close(ready_w)
        return True, None
    os.close(ready_w)
    for fd in fds:
        os.close(fd)
    said = b""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while True:  # the child's setup is a few syscalls; it writes once, or dies
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([ready_r], [], [], left)[0]:
            os.kill(pid, signal.SIGKILL)  # stuck (a mount that never returns): say so, go on
            said = said.strip(b"\0") or b"the environment's setup did not finish"
            break
        chunk = os.read(ready_r, 4096)
        if not chunk:
            break
        said += chunk
        if said == b"\0":
            break
    os.close(ready_r)
    if said == b"\0":
        _send(control, {"id": request["id"], "pid": pid})
        return False, pid
    os.waitpid(pid, 0)
    _send(control, {"id": request["id"], "error": said.decode(errors="replace") or "exited"})
    return False, None


def _reap(control, children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(control, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _shutdown(children):
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def serve(site_dirs, namespace_path, control_fd):
    """The zygote's loop; returns only in a forked child, with that child's request."""
    namespace = _load_namespace(namespace_path) if namespace_path else None
    _preload(site_dirs)
    import gc

    gc.freeze()  # children share the preloaded objects instead of copying them on collection
    children = set()
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: _shutdown(children))
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    _send(control, {"ready": os.getpid()})
    while True:
        for key, _ in selector.select():
            if key.fileobj is wake_r:
                try:
                    while wake_r.recv(512):
                        pass
                except BlockingIOError:
                    pass
                _reap(control, children)
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 2)
            except InterruptedError:
                continue
            except OSError:
                data, fds = b"", []
            if not data:
                _shutdown(children)
            request = json.loads(data)
            in_child, pid = _fork(control, request, fds, namespace)
            if in_child:
                for closable in (selector, control, wake_r, wake_w):
                    closable.close()
                os.closerange(3, 1 << 16)  # the parent's, and the request's now-duplicated fds
                return request
            if pid is not None:
                children.add(pid)
        _reap(control, children)


def become(request, base_path):
    """In the child: take the function's environment, path and arguments."""
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [os.getcwd(), *extra, *base_path]
    sys.path_importer_cache.clear()
    sys.argv = ["-c", *request["args"]]
    import site

    site.setquit()  # exit(), quit() and help(), as `site` gives them (runtimes/python.py)
    site.setcopyright()
    site.sethelper()
    sys.modules.pop("_lconsole_namespace", None)


if __name__ == "__main__":
    _sites = json.loads(sys.argv[1])
    _base = [*sys.path, *_sites]  # the stdlib, then the site dirs: as runtimes/python.py has it
    _request = serve(_sites, sys.argv[2], int(sys.argv[3]))
    become(_request, _base)
    del _sites, _base, _request
    import runpy

    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
