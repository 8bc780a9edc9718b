"""`python -m deployments.worker --pool offboarding [prefect worker start options]`: a Prefect
process worker with the warm start beside it (production; the embedded runner has its own in
`deployments.serve`).

The warm-start server is started first, tied to this process; then this process becomes
`prefect worker start` (exec: same pid, so the tie holds), whose runs inherit the server's
address. The pool's job command must be the warm client for the runs to use it (`offboard up
--production` creates the pool so; see the README); with the pool's default command, or with
OFFBOARDING_WARM_START=0, runs start cold as usual.
"""

from __future__ import annotations

import os
import sys

from deployments import FLOW_MODULES
from offboarding.adapters.warm_start.runner_hook import start_warm_server


def main(argv: list[str]) -> None:
    start_warm_server(FLOW_MODULES, route=False)
    os.execv(sys.executable, [sys.executable, "-m", "prefect", "worker", "start", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
