"""`offboard templates list|preview` and `offboard messages list|release`, in-process against a
SQLite database in a temporary state folder (no Prefect server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offboard.cli import app
from offboarding.comms import ledger
from offboarding.comms.messages import KINDS
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import MessageRow

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    from tests.integration.comms_env import comms_env

    state_dir = tmp_path / "state"
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    with comms_env(state_dir, url):
        yield state_dir
        engine_for(url).dispose()


def cli(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args))


def test_list_shows_every_kind_with_three_locales(state: Path) -> None:
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["kind"] for r in rows] == list(KINDS)
    assert all(r["locales"] == ["en", "ja", "ms"] for r in rows)
    assert {"verification_question", "deletion_confirmation", "winback_outreach"} <= {
        r["kind"] for r in rows
    }


def test_preview_writes_html_and_text(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = cli(
        "templates",
        "preview",
        "closure_confirmation",
        "--locale",
        "ja",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["locale"] == "ja" and "解約" in d["subject"]
    html = Path(d["html_file"]).read_text(encoding="utf-8")
    text = Path(d["text_file"]).read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and "2026年3月16日" in html
    assert text.startswith(f"Subject: {d['subject']}") and "佐藤 花子 様" in text
    human = cli("templates", "preview", "acknowledgement", "--locale", "ms", "--out", str(out))
    assert human.exit_code == 0 and "Salam sejahtera" in human.stdout


def test_preview_with_a_case_uses_its_data_and_locale(state: Path, tmp_path: Path) -> None:
    from tests.integration.comms_env import give_plan_and_invoice, open_test_case

    case_id = open_test_case("KAMPUNG-MY", "CLI-PREVIEW")
    give_plan_and_invoice(case_id)
    result = cli(
        "templates",
        "preview",
        "offboarding_plan",
        "--case",
        case_id,
        "--out",
        str(tmp_path),
        "--json",
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["locale"] == "ms" and case_id in d["text"] and "Kampung Digital" in d["subject"]
    english = cli(
        "templates",
        "preview",
        "offboarding_plan",
        "--case",
        case_id,
        "--locale",
        "en",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert json.loads(english.stdout)["locale"] == "en"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["templates", "preview", "farewell"], "unknown message kind 'farewell'"),
        (
            ["templates", "preview", "acknowledgement", "--locale", "fr"],
            "no acknowledgement template for locale 'fr'",
        ),
        (["templates", "preview", "acknowledgement", "--case", "C-MISSING"], "unknown case"),
        (["messages", "list", "C-MISSING"], "unknown case"),
        (
            ["messages", "release", "C-MISSING", "acknowledgement", "--by", "a@b.co"],
            "--delivered or --send-again",
        ),
        (
            [
                "messages",
                "release",
                "C-MISSING",
                "acknowledgement",
                "--by",
                "a@b.co",
                "--delivered",
            ],
            "unknown case",
        ),
        (
            ["messages", "release", "C-MISSING", "bogus", "--by", "a@b.co", "--send-again"],
            "unknown message kind",
        ),
        (
            [
                "messages",
                "release",
                "C-MISSING",
                "acknowledgement",
                "--by",
                "nobody",
                "--send-again",
            ],
            "malformed email",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(state: Path, args: list[str], message: str) -> None:
    result = cli(*args, "--json")
    assert result.exit_code == 2, result.output
    assert message in json.loads(result.stdout.strip().splitlines()[-1])["error"]


def test_release_a_refused_message(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offboard.service.tokens import token_for
    from tests.integration.comms_env import open_test_case

    case_id = open_test_case("ACME-SMB", "CLI-RELEASE")
    with session_scope(get_settings().db_url) as s:
        s.add(
            MessageRow(
                case_id=case_id,
                kind="acknowledgement",
                seq=1,
                to_addr="ann@acme-bakeries.example",
                subject="s",
                locale="en",
                location="",
                status="failed",
                attempts=1,
                last_error="SendGrid refused the message (400): bad address",
            )
        )
        ledger.flag_case(s, case_id, "message acknowledgement#1 was refused: 400")
    shown = cli("show", case_id)
    assert shown.exit_code == 0, shown.output
    assert "needs attention:" in shown.stdout and "acknowledgement#1 was refused" in shown.stdout
    (listed_case,) = json.loads(cli("cases", "--json").stdout)
    assert "acknowledgement#1 was refused" in listed_case["needs_attention"]
    listed = json.loads(cli("messages", "list", case_id, "--json").stdout)
    assert listed[0]["status"] == "failed" and "400" in listed[0]["error"]
    # the person releasing it is who their API token says, never only what --by says
    monkeypatch.setenv("OFFBOARDING_TOKEN", token_for("sam.carter@example.com", {}))
    get_settings.cache_clear()
    result = cli(
        "messages",
        "release",
        case_id,
        "acknowledgement",
        "--by",
        "sam.carter@example.com",
        "--send-again",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "pending"
    again = cli(
        "messages",
        "release",
        case_id,
        "acknowledgement",
        "--by",
        "sam.carter@example.com",
        "--send-again",
        "--json",
    )
    assert again.exit_code == 2 and "only failed or unknown" in again.stdout
    view = cli("show", case_id, "--json")
    assert json.loads(view.stdout)["needs_attention"] is None
