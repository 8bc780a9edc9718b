"""The demo's early-warning step as it prints: the summary line, the alert read back from the
file outbox, and the decision page's usage chart."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from offboard.demo.early_warning import alert_text
from offboard.demo.summary import early_warning_line
from offboard.web.app import usage_chart


def test_summary_line() -> None:
    line = early_warning_line({"opened": 7, "alerted": 7, "alert": "/x/outbox/a.eml"})
    assert line == (
        "early warning: 7 at-risk episodes opened before any cancellation, 7 owners told "
        "once; alert: /x/outbox/a.eml"
    )
    assert early_warning_line({"error": "boom"}) == "early warning: not run (boom)"


def test_alert_text_from_the_outbox(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["Subject"] = "At risk (high): Globex Corporation, several tickets on one feature"
    msg.set_content("Priya Raman,\n\nEvidence: 4 tickets on reports.\n")
    path = tmp_path / "alert.eml"
    path.write_bytes(msg.as_bytes())
    text = alert_text(str(path))
    assert text.startswith("Subject: At risk (high)") and "Evidence: 4 tickets" in text
    assert alert_text(str(tmp_path / "gone.eml")).startswith("(no copy in the outbox")


def test_usage_chart_bars() -> None:
    chart = usage_chart([0, 5, 10, 5])
    assert chart["weeks"] == 4 and [b["v"] for b in chart["bars"]] == [0, 5, 10, 5]
    tallest = max(chart["bars"], key=lambda b: b["h"])
    assert tallest["v"] == 10 and tallest["y"] == chart["height"] - tallest["h"]
    assert usage_chart([]) is None
