"""The embedded stack's children stop with it, however it dies, and a start finds what a
crashed stack left on its state folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from offboard.stack import STACK_PIDS, Stack
from offboarding.adapters.child_process import alive_with_marker, tethered


def _gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        status = Path(f"/proc/{pid}/stat")
        if status.exists() and status.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # dead, waiting for its (new) parent to reap it
        time.sleep(0.1)
    return False


def test_a_tethered_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import subprocess, sys, time\n"
        "from offboarding.adapters.child_process import tethered\n"
        "p = subprocess.Popen(tethered(['sleep', '300']), start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the parent never started its child"
        time.sleep(0.1)
    child = int(pid_file.read_text())
    time.sleep(1.0)  # the tie is made before the exec of `sleep`
    assert "sleep" in Path(f"/proc/{child}/cmdline").read_text()
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    assert _gone(child), "the child outlived its killed parent"


def test_tethered_keeps_the_command_and_its_pid(tmp_path: Path) -> None:
    out = subprocess.run(tethered(["echo", "hello"]), capture_output=True, text=True, check=True)
    assert out.stdout == "hello\n"


def test_a_start_stops_what_a_crashed_stack_left_on_its_folder_only(tmp_path: Path) -> None:
    state = (tmp_path / "state").resolve()
    state.mkdir()
    ours = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, "OFFBOARDING_STATE_DIR": str(state)}
    )
    stranger = subprocess.Popen(["sleep", "301"])  # a pid on the list that is not ours
    try:
        (state / STACK_PIDS).write_text(
            json.dumps({"server": ours.pid, "web": stranger.pid, "runner": None})
        )
        assert alive_with_marker(ours.pid, str(state))
        assert not alive_with_marker(stranger.pid, str(state))
        said = Stack(state).stop_leftovers(grace=5)
        assert said == [f"stopped a previous stack's server (pid {ours.pid}) left on {state}"]
        assert ours.wait(10) is not None
        assert stranger.poll() is None  # untouched
        assert not (state / STACK_PIDS).exists()
        assert Stack(state).stop_leftovers() == []  # nothing left the second time
    finally:
        for proc in (ours, stranger):
            proc.kill()
            proc.wait()


def test_free_ports_are_never_handed_out_twice_in_one_process() -> None:
    from offboarding.adapters.seaweedfs import free_port

    ports = [free_port() for _ in range(300)]  # bind(0) alone repeated ~6 % of 2,000 picks here
    assert len(set(ports)) == len(ports)
