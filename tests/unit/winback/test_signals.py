"""Win-back signals: the model, and whole-file ingestion from CSV and Parquet, where one bad
row rejects the file with its row number and the same file twice gives the same ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from offboarding.winback.signals.files import read_signal_file
from offboarding.winback.signals.frame import normalise_frame
from offboarding.winback.signals.model import SIGNAL_SCHEMA, SignalFileError, WinbackSignal

HEADER = "signal_id,type,account_id,domain,competitor,codes,observed_at,source,details\n"
GOOD = [
    ',growth_phase,ACME-SMB,,,,2026-06-10T09:00:00Z,news,"{""kind"": ""funding""}"',
    ",stack_pain_post,,WWW.Acme-Bakeries.example,,,2026-06-11 10:00:00,social,",
    ",competitor_acquired,,,  Initrode  Inc ,,2026-06-12T00:00:00+02:00,news,",
    ",feature_shipped,,,,SSO; Audit Log,2026-06-13,release-notes,",
    (
        "S-given,champion_moved,ACME-SMB,,,,2026-06-14T08:00:00Z,linkedin,"
        '"{""person"": ""Ann"", ""new_company"": ""Crumbs""}"'
    ),
]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_csv_is_normalised_like_the_model(tmp_path: Path) -> None:
    frame = read_signal_file(str(write_csv(tmp_path / "s.csv", GOOD)))
    assert frame.schema == pl.Schema(SIGNAL_SCHEMA)
    rows = frame.to_dicts()
    assert rows[1]["domain"] == "acme-bakeries.example"
    assert rows[2]["competitor"] == "initrode inc"
    assert rows[2]["observed_at"] == datetime(2026, 6, 11, 22, tzinfo=UTC)  # +02:00 to UTC
    assert rows[3]["codes"] == ["sso", "audit log"]
    assert rows[4]["signal_id"] == "S-given"
    # the vectorised checks and the model agree, ids included
    for row in rows:
        model = WinbackSignal(**{**row, "details": json.loads(row["details"])})
        assert model.row() == {
            **row,
            "details": json.dumps(json.loads(row["details"]), sort_keys=True),
        }


def test_same_file_same_ids(tmp_path: Path) -> None:
    a = read_signal_file(str(write_csv(tmp_path / "a.csv", GOOD)))["signal_id"].to_list()
    b = read_signal_file(str(write_csv(tmp_path / "b.csv", GOOD)))["signal_id"].to_list()
    assert a == b and len(set(a)) == len(a)


def test_parquet_round_trip(tmp_path: Path) -> None:
    csv = read_signal_file(str(write_csv(tmp_path / "s.csv", GOOD)))
    csv.write_parquet(tmp_path / "s.parquet")
    assert read_signal_file(str(tmp_path / "s.parquet")).equals(csv)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",weather,ACME-SMB,,,,2026-06-10,news,", "unknown type"),
        (",growth_phase,ACME-SMB,,,,yesterday,news,", "observed_at"),
        (",growth_phase,ACME-SMB,,,,2026-06-10,,", "source missing"),
        (",growth_phase,,not a domain,,,2026-06-10,news,", "not a company domain"),
        (",growth_phase,,,,,2026-06-10,news,", "needs an account_id or a domain"),
        (",feature_shipped,,,,,2026-06-10,release-notes,", "needs codes"),
        (",competitor_acquired,,,,,2026-06-10,news,", "needs a competitor"),
        (",champion_moved,ACME-SMB,,,,2026-06-10,linkedin,", "new_company"),
        (",growth_phase,ACME-SMB,,,,2026-06-10,news,{not json", "details"),
    ],
)
def test_one_bad_row_rejects_the_file(tmp_path: Path, row: str, message: str) -> None:
    path = write_csv(tmp_path / "bad.csv", [*GOOD, row])
    with pytest.raises(SignalFileError) as exc:
        read_signal_file(str(path))
    assert "nothing ingested" in str(exc.value)
    assert "rows 6" in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "growth_phase"}, "needs an account_id or a domain"),
        ({"type": "feature_shipped"}, "needs codes"),
        ({"type": "champion_moved", "account_id": "A"}, "new_company"),
        ({"type": "growth_phase", "domain": "nope"}, "not a company domain"),
        ({"type": "nope", "account_id": "A"}, "type"),
    ],
)
def test_model_refuses_signals_about_nobody(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        WinbackSignal(observed_at=datetime(2026, 6, 1, tzinfo=UTC), source="crm", **fields)
    assert message in str(exc.value)


def test_missing_files_and_formats(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_signal_file(str(tmp_path / "absent.csv"))
    (tmp_path / "s.json").write_text("[]", encoding="utf-8")
    with pytest.raises(SignalFileError, match=r"\.csv or \.parquet"):
        read_signal_file(str(tmp_path / "s.json"))
    with pytest.raises(SignalFileError, match="no 'type' column"):
        normalise_frame(pl.DataFrame({"account_id": ["A"]}))
