"""Every flow run is a fresh process, so what its module imports is paid at every run's start:
the runs every case makes import none of the heavy libraries that only some runs need."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("polars", "pyarrow", "pandas", "reportlab", "boto3", "duckdb", "scim2_client",
         "scim2_models", "stripe", "slack_sdk")  # fmt: skip

#: the runs of every case (main, stages, deadlines, recovery, webhooks) and the checklist
PER_CASE = ("flows.offboarding_flow", "flows.stages_flow", "flows.sweeper_flow",
            "flows.escalation_flow", "flows.recovery_flow", "flows.webhook_flow",
            "tasks.deactivation_checklist")  # fmt: skip


@pytest.mark.parametrize("module", PER_CASE)
def test_a_per_case_run_imports_no_heavy_library(module):
    code = (
        f"import json, sys, {module}; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], f"{module} imports {out.stdout.strip()} at its start"


def test_the_checklist_names_the_scim_vendor_as_the_directory_does():
    from offboarding.integrations.scim_directory import VENDOR
    from tasks.deactivation_checklist import SCIM_VENDOR

    assert SCIM_VENDOR == VENDOR
