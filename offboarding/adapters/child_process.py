"""Child processes that never outlive the stack that started them.

`start_new_session=True` keeps a child out of the terminal's Ctrl-C group (we stop it in order),
but it also means nothing stops it when its parent dies by kill -9. On Linux the child asks the
kernel for SIGTERM when its parent goes (PR_SET_PDEATHSIG, kept across exec): `tethered(cmd)`
wraps a command in this module, which sets that and then execs the command in its place (no
`preexec_fn`, which is unsafe in a process with threads).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def tethered(command: list[str]) -> list[str]:
    """`command`, run so that it gets SIGTERM when this process dies (as is, off Linux)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-m", __name__, str(os.getpid()), "--", *command]


def alive_with_marker(pid: int, marker: str) -> bool:
    """True when `pid` runs and its command line or environment names `marker` (a state folder),
    so a pid reused by an unrelated process is never taken for ours."""
    proc = Path(f"/proc/{pid}")
    try:
        seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
    except OSError:
        return False
    return marker.encode() in seen


def _main(argv: list[str]) -> None:
    parent, sep, *command = argv
    if sep != "--" or not command:
        raise SystemExit("usage: python -m offboarding.adapters.child_process PPID -- CMD ...")
    die_with_parent(int(parent))
    os.execvp(command[0], command)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when `parent` goes; exit now if it already went (Linux)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the tie was made
        raise SystemExit(1)


def name_process(name: bytes) -> None:
    """The name `top` and `ps -o comm` show (Linux, at most 15 bytes): a forked child would
    otherwise look like its parent."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)


if __name__ == "__main__":
    _main(sys.argv[1:])
