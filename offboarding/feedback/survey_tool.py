"""A survey tool's export (JSON or CSV) read into checked responses, row by row.

A file with some bad rows keeps the good ones and reports each bad row with its line number
and reason, so one typo never costs a whole batch. Reads local files (I/O); recording the
responses is `feedback.store.responses.import_responses`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from offboarding.cases.store import OffboardingError
from offboarding.feedback.survey import SurveyResponse

__all__ = ["ALIASES", "ImportResult", "RowError", "parse_responses"]

#: Column names survey tools commonly use, mapped to ours.
ALIASES = {
    "id": "response_id",
    "response": "response_id",
    "case": "case_id",
    "nps": "recommend_score",
    "likelihood_to_recommend": "recommend_score",
    "recommend": "recommend_score",
    "rating": "overall_rating",
    "overall_experience": "overall_rating",
    "offboarding_satisfaction": "satisfaction",
    "use_again": "would_use_again",
    "submitted_at": "responded_at",
    "reason": "main_reason",
}


@dataclass
class RowError:
    """A rejected row: its line (CSV) or position (JSON), its response id if any, and why."""

    row: int
    response_id: str | None
    error: str


@dataclass
class ImportResult:
    """What an import did, per response id, so a rerun can show it recorded nothing new."""

    file: str
    rows: int = 0
    recorded: list[str] = field(default_factory=list)
    already_recorded: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "recorded": len(self.recorded),
            "already_recorded": len(self.already_recorded),
            "errors": [e.__dict__ for e in self.errors],
            "recorded_ids": self.recorded,
        }


def _column(name: Any) -> str:
    """'Response ID' and 'response-id' are response_id; survey-tool names map to ours."""
    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def _normalise_keys(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = _column(k)
        if isinstance(v, str):
            v = v.strip()
        if v is not None and v != "":  # a blank cell is a question not answered
            out[key] = v
    status = str(out.pop("status", "") or "").lower()
    if status == "declined":
        out.setdefault("declined", True)
    elif status not in {"", "answered", "completed", "complete"}:
        out["declined"] = f"unknown status {status!r}"  # fails validation with a clear message
    return out


def _short(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_responses(path: Path) -> tuple[list[tuple[int, SurveyResponse]], list[RowError], int]:
    """Read a JSON (list, or {"responses": [...]}) or CSV export of a survey tool.

    Returns (good rows with their row numbers, bad rows, rows read). A file that cannot be read
    at all raises OffboardingError and nothing is recorded.
    """
    if not path.exists():
        raise OffboardingError(f"no such file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OffboardingError(f"{path.name} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("responses"), list):
            data = data["responses"]
        if not isinstance(data, list):
            raise OffboardingError(
                f'{path.name}: expected a list of responses or {{"responses": [...]}}'
            )
        raw_rows = list(enumerate(data, start=1))
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise OffboardingError(f"{path.name} is empty: a CSV needs a header row")
        cols = {_column(c) for c in reader.fieldnames}
        missing = {"response_id", "case_id"} - cols
        if missing:
            raise OffboardingError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        raw_rows = list(enumerate(reader, start=2))  # line numbers, the header is line 1
    else:
        raise OffboardingError(f"{path.name}: survey responses must be .json or .csv")
    good: list[tuple[int, SurveyResponse]] = []
    bad: list[RowError] = []
    for n, raw in raw_rows:
        if not isinstance(raw, dict):
            bad.append(RowError(n, None, "not an object"))
            continue
        row = _normalise_keys({k: v for k, v in raw.items() if k is not None})
        rid = row.get("response_id")
        if None in raw:  # csv.DictReader puts surplus cells under the None key
            bad.append(RowError(n, str(rid) if rid else None, "more cells than header columns"))
            continue
        try:
            good.append((n, SurveyResponse.model_validate(row)))
        except ValidationError as exc:
            bad.append(RowError(n, str(rid) if rid is not None else None, _short(exc)))
    return good, bad, len(raw_rows)
