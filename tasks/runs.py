"""Starting a case's one flow run: from intake, and from the sweeper for a case that has none."""

from __future__ import annotations

import httpx

from offboarding.cases.store import get_case
from tasks.common import db
from tasks.deployment_names import OFFBOARDING


class NoStackReachable(RuntimeError):
    """No Prefect API answers: the case is recorded and the sweeper starts it later."""


def check_api_reachable(timeout: float = 5.0) -> str:
    """The Prefect API's address, or NoStackReachable. Without PREFECT_API_URL Prefect would
    quietly start a temporary server of its own and forget the run with it."""
    from prefect.settings import PREFECT_API_URL

    url = (PREFECT_API_URL.value() or "").rstrip("/")
    if not url:
        raise NoStackReachable("PREFECT_API_URL is not set (no stack is running here)")
    try:
        httpx.get(f"{url}/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise NoStackReachable(f"the Prefect API at {url} does not answer ({exc})") from exc
    return url


def start_case_run(case_id: str, account_id: str, segment: str, replace: bool = False) -> str:
    """The case's one run of the offboarding deployment (idempotent per case), tagged so the UI
    can filter by account, segment and case. `replace` records a new run for a case whose run
    Prefect no longer knows."""
    from prefect.deployments import run_deployment

    check_api_reachable()
    run = run_deployment(
        OFFBOARDING,
        parameters={"case_id": case_id, "account_id": account_id},
        timeout=0,
        as_subflow=False,
        idempotency_key=f"offboarding-{case_id}",
        tags=[f"account:{account_id}", f"segment:{segment}", f"case:{case_id}"],
    )
    with db() as s:
        case = get_case(s, case_id)
        case.flow_run_id = str(run.id) if replace else case.flow_run_id or str(run.id)
    return str(run.id)
