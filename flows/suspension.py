"""Suspend a run for a person's decision with its form stored *before* the run is Suspended.

Prefect's `suspend_flow_run` sets the Suspended state first and stores the input form (the
run input schema) right after. Until the form is stored, a resume is refused ("Run input
schema not found"); and a run whose process stalls or dies between the two stays Suspended
with no form at all, so no decision can ever reach it (seen under load: a run Suspended for
over three minutes with no form). Storing the form first closes that window: a run that is
Suspended can always be resumed. Otherwise this is Prefect's own `suspend_flow_run` for the
current run (Prefect 3.8), built from the same public pieces.
"""

from __future__ import annotations

from typing import Any

from httpx import HTTPStatusError
from prefect import get_run_logger
from prefect._flow_run_suspension import mark_flow_run_suspension_requested
from prefect._internal.pydantic.v2_schema import create_v2_schema, is_v2_model
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Pause
from prefect.input import keyset_from_paused_state
from prefect.input.run_input import run_input_subclass_from_type
from prefect.states import Suspended
from prefect.utilities.engine import propose_state_sync


def _store_once(client: Any, flow_run_id: Any, key: str, value: Any) -> None:  # noqa: ANN401
    """Store one run input; one stored earlier (a rerun after the resume) is left as it is."""
    import orjson

    try:
        client.create_flow_run_input(flow_run_id, key, orjson.dumps(value).decode())
    except HTTPStatusError as exc:
        if exc.response.status_code != 409:  # 409: "a flow run input with this key exists"
            raise


def _description(form: type, key: str) -> str:
    text = getattr(form, "_description", None)
    return text if isinstance(text, str) else f"Input for {key}"


def suspend_for_input(model: type, key: str) -> Any:  # noqa: ANN401 - the model's instance
    """Suspend the current run until it is resumed with input for `model`; on the run's
    restart after that resume, return the input (as `suspend_flow_run(wait_for_input=...)`)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        raise RuntimeError("a run can only be suspended from within its flow")
    flow_run_id = ctx.flow_run.id
    form = run_input_subclass_from_type(model)
    proposed = Suspended(pause_key=key)
    keyset = keyset_from_paused_state(proposed)
    proposed.state_details.run_input_keyset = keyset
    # the form's schema exactly as `RunInput.save` writes it, so the UI renders the same form
    if is_v2_model(form):
        schema = create_v2_schema(form.__name__, model_base=form)
    else:  # pragma: no cover - our inputs are pydantic v2 models
        schema = form.model_json_schema(by_alias=True)
    with get_client(sync_client=True) as client:
        _store_once(client, flow_run_id, keyset["schema"], schema)
        get_run_logger().info("Suspending for %s; the run restarts when it is resumed", key)
        state = propose_state_sync(client=client, state=proposed, flow_run_id=flow_run_id)
        if state.is_running():  # this pause was resumed already: the run is past it
            return form.load(keyset)
        if not state.is_paused():
            raise RuntimeError(f"the run could not be suspended: the server answered {state}")
        # the description last, as Prefect stores its form after the state: deciders wait for
        # it (briefly), so a resume does not reach a worker while this process is still
        # winding down (a worker given the same run twice stops: "already holding one of
        # this CapacityLimiter's tokens")
        _store_once(client, flow_run_id, keyset["description"], _description(form, key))
    mark_flow_run_suspension_requested(flow_run_id, state)
    raise Pause(state=state)
