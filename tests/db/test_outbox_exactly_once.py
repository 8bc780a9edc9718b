"""Exactly once, on SQLite and PostgreSQL: a rerun finds the message sent; a crash is taken
over without a second message (file outbox) or flagged for a person (SendGrid); workers in
separate processes racing for the same (case, kind, seq) send it once between them."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from offboarding.comms import ledger
from offboarding.comms.file_outbox import INDEX
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models import MessageRow
from tasks.messaging import deliver
from tests.integration.comms_env import comms_env, open_test_case
from tests.integration.sendgrid_fake import FakeSendGrid


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    with comms_env(tmp_path, db_url):
        yield db_url, tmp_path


def rows(case_id: str) -> int:
    with session_scope(get_settings().db_url) as s:
        return s.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.case_id == case_id)
        )


def index_lines(outbox: Path, case_id: str) -> list[dict[str, Any]]:
    lines = (outbox / INDEX).read_text(encoding="utf-8").splitlines()
    return [x for x in map(json.loads, lines) if x["case_id"] == case_id]


def test_a_rerun_sends_nothing_new(env: tuple[str, Path]) -> None:
    _, tmp = env
    case_id = open_test_case("SAKURA-JP", "EO-RERUN")
    first = deliver(case_id, "acknowledgement")
    second = deliver(case_id, "acknowledgement")
    assert first["sent_now"] is True and second["sent_now"] is False
    assert second["location"] == first["location"]
    assert rows(case_id) == 1
    assert len(index_lines(tmp / "outbox", case_id)) == 1
    assert len(list((tmp / "outbox").glob(f"{case_id}-*.eml"))) == 1
    eml = (tmp / "outbox" / f"{case_id}-acknowledgement-1.eml").read_bytes()
    assert b"Content-Type: text/html" in eml and b"X-Offboarding-Key: offboarding-" in eml
    # another sequence number is another message
    assert deliver(case_id, "acknowledgement", seq=2)["sent_now"] is True
    assert rows(case_id) == 2


def test_a_crashed_file_send_is_taken_over_without_a_second_message(
    env: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tmp = env
    case_id = open_test_case("KAMPUNG-MY", "EO-CRASH")

    def worker_dies(*a, **k):  # noqa: ANN002, ANN003
        raise SystemExit("killed after writing the file")

    with monkeypatch.context() as m:
        m.setattr(ledger, "mark_sent", worker_dies)
        with pytest.raises(SystemExit):
            deliver(case_id, "acknowledgement")
    with session_scope(get_settings().db_url) as s:
        assert ledger.find(s, case_id, "acknowledgement", 1).status == "sending"
        s.execute(
            update(MessageRow)
            .where(MessageRow.case_id == case_id)
            .values(claimed_at=utcnow() - timedelta(seconds=ledger.LEASE_SECONDS["file"] + 1))
        )
    again = deliver(case_id, "acknowledgement")
    assert again["sent_now"] is True and again["replay"] is True
    assert len(index_lines(tmp / "outbox", case_id)) == 1, "the index lists the message once"
    assert len(list((tmp / "outbox").glob(f"{case_id}-*.eml"))) == 1
    assert deliver(case_id, "acknowledgement")["sent_now"] is False


def test_a_fresh_claim_elsewhere_is_not_touched(env: tuple[str, Path]) -> None:
    case_id = open_test_case("ACME-SMB", "EO-INFLIGHT")
    with session_scope(get_settings().db_url) as s:
        claim = ledger.claim(
            s,
            case_id=case_id,
            kind="acknowledgement",
            seq=1,
            key="k",
            to="ann@acme-bakeries.example",
            subject="s",
            locale="en",
            provider="file",
            replay_safe=True,
        )
        assert isinstance(claim, ledger.Claim)
    with pytest.raises(ledger.SendInFlight):
        deliver(case_id, "acknowledgement")


# -- separate processes -----------------------------------------------------------------------


def _worker(db_url: str, state_dir: str, host: str, case_id: str, start_at: float) -> str:
    """A fresh process, as a resumed run on another worker would be."""
    from offboarding.comms.sendgrid_mailer import SendGridMailer
    from tests.integration.comms_env import comms_env

    with comms_env(Path(state_dir), db_url):
        mailer = SendGridMailer("SG.test-key", host=host, backoff_base=0.01)
        time.sleep(max(0.0, start_at - time.time()))
        try:
            result = deliver(case_id, "offboarding_plan", mailer=mailer)
        except ledger.SendInFlight:
            return "in_flight"
        return "sent" if result["sent_now"] else "already_sent"


def test_workers_in_separate_processes_send_once_between_them(env: tuple[str, Path]) -> None:
    from tests.integration.comms_env import give_plan_and_invoice

    db_url, tmp = env
    case_id = open_test_case("GLOBEX-ENT", "EO-PROCS")
    give_plan_and_invoice(case_id)
    ctx = mp.get_context("spawn")
    with FakeSendGrid() as sg, ctx.Pool(4) as pool:
        start_at = time.time() + 8  # after every process has imported and is waiting
        results = pool.starmap(
            _worker, [(db_url, str(tmp), sg.host, case_id, start_at) for _ in range(4)]
        )
        assert results.count("sent") == 1, results
        assert set(results) <= {"sent", "in_flight", "already_sent"}
        # later, another process (a resumed run elsewhere) finds it sent
        later = pool.apply(_worker, (db_url, str(tmp), sg.host, case_id, 0.0))
        assert later == "already_sent"
        assert len(sg.received) == 1 and sg.received[0].status == 202
    assert rows(case_id) == 1


# -- schema ------------------------------------------------------------------------------------


def test_messages_sent_before_0004_stay_sent(db_url: str) -> None:
    """A database with messages from before the ledger upgrades without losing them."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from offboarding.storage.db import engine_for, upgrade

    upgrade(db_url, "0003")
    with engine_for(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (account_id, name, segment, arr, region, locale, data, "
                "updated_at) VALUES ('A1', 'Acme', 'smb', 1, 'US', 'en', '{}', :t)"
            ),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO cases (case_id, account_id, status, channel, requested_by, "
                "requested_at, request, legal_hold, winback_candidate, created_at, updated_at) "
                "VALUES ('C-1', 'A1', 'closed', 'email', 'a@b.co', :t, '{}', false, false, :t, :t)"
            ),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO messages (case_id, kind, seq, to_addr, subject, locale, location, "
                "sent_at) VALUES ('C-1', 'acknowledgement', 1, 'a@b.co', 's', 'en', 'x.eml', :t)"
            ),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    upgrade(db_url)
    with session_scope(db_url) as s:
        row = ledger.find(s, "C-1", "acknowledgement", 1)
        assert (row.status, row.attempts, row.location) == ("sent", 0, "x.eml")


def test_the_models_match_the_migration(db_url: str) -> None:
    """Autogenerate finds nothing to change in the tables this issue owns."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from offboarding.storage.db import engine_for, upgrade
    from offboarding.storage.models import Base

    upgrade(db_url)
    with engine_for(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(diff) -> str:  # noqa: ANN001
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if isinstance(part, str):
                return part
        return ""

    ours = [d for d in diffs if table_of(d) in ("messages", "message_attempts")]
    assert ours == []
