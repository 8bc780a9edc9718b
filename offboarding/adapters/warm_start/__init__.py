"""Flow-run processes forked from a warm parent instead of started cold.

Every flow run (a case's start, each resume, a slot of stages) is a `python -m prefect.engine`
process, and about half of its CPU goes to importing Prefect and our flows before any work. A
warm-start server imports them once and forks a child per run; the runner starts a tiny client in
place of the engine, which hands the server its environment, working folder and standard streams,
relays signals to the child and exits with the child's status. Without a server the client execs
the engine as before, so the warm start only ever saves time.

Kept light: the client imports this package, and nothing here may import more than the stdlib.
"""

SOCKET_ENV = "OFFBOARDING_WARM_SOCKET"  # the server's abstract socket name, "" = cold starts
ENABLE_ENV = "OFFBOARDING_WARM_START"  # "0" turns the warm start off
CLIENT_MODULE = "offboarding.adapters.warm_start.client"


def warm_start_enabled() -> bool:
    """On Linux unless OFFBOARDING_WARM_START=0 (the runner's and the pool template's test)."""
    import os
    import sys

    return os.environ.get(ENABLE_ENV, "1") != "0" and sys.platform.startswith("linux")
