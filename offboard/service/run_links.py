"""Links to flow runs in the Prefect UI that is actually serving them.

The address comes from the stack the process talks to, not from a constant: `offboard up` and
the demo publish PREFECT_UI_URL and OFFBOARDING_UI_URL (in the process and in `stack.env`,
which the CLI loads); a shell pointed at another server only sets PREFECT_API_URL, and the UI
is derived from it the way Prefect itself derives it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from offboarding.settings import Settings

#: Prefect's own UI address when nothing says otherwise (a default `prefect server start`).
DEFAULT_UI_URL: str = Settings.model_fields["ui_url"].default
PREFECT_CLOUD_API = "https://api.prefect.cloud/api"
PREFECT_CLOUD_UI = "https://app.prefect.cloud"


def ui_url_from_api(api_url: str) -> str:
    """The UI of a Prefect API: `http://host:4200/api` -> `http://host:4200`; Prefect Cloud's
    `.../api/accounts/A/workspaces/W` -> `https://app.prefect.cloud/account/A/workspace/W`."""
    url = api_url.rstrip("/")
    if url.startswith(PREFECT_CLOUD_API):
        url = PREFECT_CLOUD_UI + url.removeprefix(PREFECT_CLOUD_API)
    url = url.removesuffix("/api").replace("/api/", "/")
    return url.replace("/accounts/", "/account/").replace("/workspaces/", "/workspace/")


def stack_ui_url(env: Mapping[str, str] | None = None) -> str:
    """Where the running stack's UI is: an explicit OFFBOARDING_UI_URL, else PREFECT_UI_URL,
    else the UI of PREFECT_API_URL, else Prefect's default local address."""
    env = os.environ if env is None else env
    for key in ("OFFBOARDING_UI_URL", "PREFECT_UI_URL"):
        if value := env.get(key, "").strip():
            return value.rstrip("/")
    if api := env.get("PREFECT_API_URL", "").strip():
        return ui_url_from_api(api)
    return DEFAULT_UI_URL


def flow_run_link(ui_url: str, flow_run_id: str | None) -> str | None:
    """The page of one flow run, or None for a case or stage that has no run yet."""
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if flow_run_id else None
