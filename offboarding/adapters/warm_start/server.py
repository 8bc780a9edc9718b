"""`python -m offboarding.adapters.warm_start.server NAME PPID MODULE...`: the warm parent.

Imports the modules a flow run needs once, then forks a child per client (see the package
docstring). Single-threaded on purpose: a fork from a process with other threads can inherit a
lock held by one of them, so the server refuses to serve if a warm-up import started a thread.
Only a process of the same user may connect (SO_PEERCRED); it dies with the process that started
it (PR_SET_PDEATHSIG) and reaps its children, so their CPU time counts in its own.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import signal
import socket
import struct
import sys
import threading
import time

from offboarding.adapters.child_process import die_with_parent, name_process

HEADER_TIMEOUT = 10.0
MAX_HEADER = 4 << 20


def main(argv: list[str]) -> None:
    name, parent, *modules = argv
    die_with_parent(int(parent))
    started = time.process_time()
    for module in modules:
        importlib.import_module(module)
    if threading.active_count() > 1:
        print(f"warm start off: a warm-up import started a thread {threading.enumerate()}")
        raise SystemExit(0)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    listener.listen(128)
    children: dict[int, socket.socket] = {}
    signal.signal(signal.SIGCHLD, lambda *_: _reap(children))
    print(f"warm start ready: {len(modules)} modules in {time.process_time() - started:.1f} CPU-s")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        request = _handshake(conn)
        if request is None:
            conn.close()
            continue
        try:
            pid = os.fork()
        except OSError as exc:  # no memory or process slots: this client starts cold
            print(f"warm start: cannot fork ({exc}); the run starts cold")
            _release(conn, request[0])
            continue
        if pid == 0:
            _become_engine(listener, conn, children, *request)
            return  # the child ends as the engine ended, through the interpreter's own exit
        children[pid] = conn
        _release(None, request[0])
        _reap(children)  # a child that ended before it was recorded


def _release(conn: socket.socket | None, fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
    if conn is not None:
        conn.close()


def _handshake(conn: socket.socket) -> tuple[list[int], dict] | None:
    """The client's standard streams and its argv, environment and folder, from our own user."""
    fds: list[int] = []
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return None
        conn.settimeout(HEADER_TIMEOUT)
        data, fds, _, _ = socket.recv_fds(conn, 4, 3)
        size = int.from_bytes(data, "big")
        if len(fds) != 3 or not 0 < size <= MAX_HEADER:
            raise ValueError("bad warm-start request")
        raw = b""
        while len(raw) < size:
            chunk = conn.recv(size - len(raw))
            if not chunk:
                raise ValueError("warm-start request cut short")
            raw += chunk
        conn.settimeout(None)
        return fds, json.loads(raw)
    except (OSError, ValueError) as exc:
        print(f"warm start: refused a request ({exc})")
        for fd in fds:
            os.close(fd)
        return None


def _reap(children: dict[int, socket.socket]) -> None:
    """Tell each ended child's client how it ended."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(OSError):  # its client may be gone
            conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
        conn.close()


def _become_engine(listener, conn, children, fds: list[int], request: dict) -> None:  # noqa: ANN001
    """In the forked child: take the client's place, then run its module as `__main__`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    listener.close()
    for other in children.values():
        other.close()
    children.clear()
    sys.stdout.flush()
    sys.stderr.flush()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    argv = list(request["argv"])
    if len(argv) < 2 or argv[0] != "-m":
        raise SystemExit(f"warm start runs modules only (-m NAME), not {argv}")
    sys.argv = [argv[1], *argv[2:]]
    _fresh_settings()
    name_process(b"flow-run")
    threading.Thread(target=_die_with_client, args=(conn,), daemon=True).start()
    conn.sendall(f"pid {os.getpid()}\n".encode())
    sys.modules.pop(argv[1], None)  # warmed as a module; it runs afresh as __main__
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


def _fresh_settings() -> None:
    """Settings cached by the warm-up are read again from this run's environment."""
    if "prefect.context" in sys.modules:
        sys.modules["prefect.context"].refresh_global_settings_context()
    settings = sys.modules.get("offboarding.settings")
    if settings is not None:
        settings.get_settings.cache_clear()


def _die_with_client(conn: socket.socket) -> None:
    """The client never writes after its request: end of stream means it was killed."""
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1:])
