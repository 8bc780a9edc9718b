"""A service that does not answer after the retries is a plain message and exit code 2, never a
traceback; anything else still raises (a bug must not be dressed up as an outage)."""

from __future__ import annotations

import json

import httpx
import pytest
import typer
from botocore.exceptions import EndpointConnectionError

from offboard.cli.output import run_or_fail


def _raise(exc: BaseException):  # noqa: ANN202
    def body() -> None:
        raise exc

    return body


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket"),
        httpx.ConnectError("connection refused"),
    ],
)
def test_an_outage_is_a_clear_message(exc: BaseException, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(typer.Exit) as exit_:
        run_or_fail(_raise(exc), as_json=True)
    assert exit_.value.exit_code == 2
    said = json.loads(capsys.readouterr().out)["error"]
    assert "did not answer after retries" in said and "--export-id" in said


def test_a_bug_is_not_an_outage() -> None:
    with pytest.raises(KeyError):
        run_or_fail(_raise(KeyError("oops")), as_json=True)


def test_a_sweep_whose_missed_stage_fails_again_says_so_plainly(monkeypatch) -> None:  # noqa: ANN001
    """`offboard sweep` with a stage that failed again: one line naming it, exit 2, no trace."""
    from typer.testing import CliRunner

    import flows.sweeper_flow as sweeper
    from offboard.cli import app
    from tests.unit.cli.test_cli_bad_input import assert_clean_error

    def failing_sweep() -> None:
        raise sweeper.MissedStagesFailed(
            "the sweep ran; 1 missed stage(s) failed again: C-1:closure"
        )

    monkeypatch.setattr(sweeper, "sweeper_flow", failing_sweep)
    assert_clean_error(CliRunner().invoke(app, ["sweep"]), "C-1:closure", "failed again")
