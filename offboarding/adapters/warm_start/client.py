"""`python -m offboarding.adapters.warm_start.client -m prefect.engine`: what the runner starts.

Asks the warm-start server to fork the engine with this process's environment, folder and
standard streams, forwards SIGTERM and SIGINT to that child (the runner cancels by signalling
the process it started), and ends as the child ended: its exit code, or killed by its signal.
With no server to reach, it execs the command cold, exactly as the runner would have.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from offboarding.adapters.warm_start import SOCKET_ENV

FORWARDED = (signal.SIGTERM, signal.SIGINT)


def _connect() -> socket.socket | None:
    name = os.environ.get(SOCKET_ENV, "")
    if not name:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect("\0" + name)
    except OSError:
        sock.close()
        return None
    return sock


def _open(fd: int) -> int:
    """`fd`, or /dev/null in its place when the runner started us with it closed."""
    try:
        os.fstat(fd)
    except OSError:
        os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    return fd


def _cold(argv: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, *argv])


def main(argv: list[str]) -> None:
    streams = [_open(fd) for fd in (0, 1, 2)]  # before the socket, which would take a closed 0
    sock = _connect()
    if sock is None:
        _cold(argv)
    header = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    try:
        socket.send_fds(sock, [len(header).to_bytes(4, "big")], streams)
        sock.sendall(header)
    except OSError:  # the server went away mid-request: nothing ran yet
        sock.close()
        _cold(argv)

    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if child:
            os.kill(child[0], signum)
        else:
            pending.append(signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)
    replies = sock.makefile("r")
    started = replies.readline().split()
    if not started or started[0] != "pid":  # the server went before it forked: nothing ran
        sock.close()
        _cold(argv)
    child.append(int(started[1]))
    for signum in pending:
        os.kill(child[0], signum)
    ended = replies.readline().split()
    if not ended or ended[0] != "exit":  # the server died under a running child
        sys.exit(1)
    code = int(ended[1])
    if code < 0:  # killed by a signal: end the same way, so the runner reads the same crash
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
