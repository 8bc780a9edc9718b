"""Erasure reaches the orchestrator too (§6): a purged case's run inputs (what deciders typed,
the customer's words among them) and its artifacts are deleted from Prefect through its API.
What cannot be deleted that way is named, with why, for the deletion certificate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

#: Stores of the orchestrator that the purge leaves, and why that is truthful to certify.
LEFT = [
    {
        "store": "Prefect logs",
        "why": "Prefect's API deletes no logs; our flows log input keys and statuses only, "
        "never what a person or customer typed",
    },
    {
        "store": "Prefect flow and task run records",
        "why": "kept for the orchestration history; their names, tags and parameters hold "
        "only case and account ids",
    },
]


#: What the certificate counts; a tally holds these across tries of the erase.
TALLY_KEYS = ("run_inputs_deleted", "artifacts_deleted")


def erase_from_orchestrator(
    case_id: str, current_run_id: str | None = None, tally: dict[str, int] | None = None
) -> dict[str, Any]:
    """Delete every run input and artifact of the case's runs (tagged `case:<id>`); the run
    doing the purge keeps its own (it holds none of the case's personal data).

    Each deletion is added to `tally` as it happens, so a try that fails half-way still
    leaves its count for the next try to add to: the certificate then states what every try
    deleted, not only the last one (which may find everything already gone)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterTags,
    )

    tally = tally if tally is not None else {}
    for key in TALLY_KEYS:
        tally.setdefault(key, 0)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"case:{case_id}"])),
            limit=200,
        )
        ids = [r.id for r in runs if str(r.id) != str(current_run_id or "")]
        for run_id in ids:
            for found in client.filter_flow_run_input(run_id, "", 500, set()):
                tally["run_inputs_deleted"] += _gone_or_deleted(
                    client.delete_flow_run_input, run_id, found.key
                )
        keyed = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(
                    any_=[f"case-{case_id.lower()}", f"decision-{case_id.lower()}"]
                )
            )
        )
        by_run = (
            client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            if ids
            else []
        )
        for artifact_id in {a.id for a in [*keyed, *by_run]}:
            tally["artifacts_deleted"] += _gone_or_deleted(
                client.delete_artifact, UUID(str(artifact_id))
            )
    return {
        "store": "Prefect (orchestrator)",
        "flow_runs": len(ids),
        **{key: tally[key] for key in TALLY_KEYS},
        "left": LEFT,
    }


def _gone_or_deleted(delete, *args) -> int:  # noqa: ANN001, ANN002
    """1 when this call deleted it, 0 when it was already gone (a concurrent or earlier try of
    the erase got there first): erasing twice is not an error."""
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        delete(*args)
    except ObjectNotFound:
        return 0
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        return 0
    return 1
