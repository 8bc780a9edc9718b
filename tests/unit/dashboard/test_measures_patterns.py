"""Pattern detection (§8): the same gap or issue cited by N customers within 90 days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from offboarding.feedback.patterns import Citation, citations_from_frames, find_patterns
from offboarding.feedback.themes import normalise_text
from tests.unit.dashboard.measures_fixtures import dataset, t


def cite(account: str, day: str, label: str = "SAML SSO", kind: str = "product_gap") -> Citation:
    return Citation(
        kind, normalise_text(label), label, account, f"C-{account}-{day}", t(day), "reason"
    )


def test_wording_is_normalised() -> None:
    assert normalise_text("SAML SSO") == normalise_text("sso (SAML)") == "saml sso"
    assert normalise_text("  Support   unreachable! ") == "support unreachable"
    assert normalise_text(None) == ""


def test_three_customers_within_90_days_make_a_pattern() -> None:
    cs = [
        cite("A", "2025-01-01 00:00"),
        cite("B", "2025-02-01 00:00", "sso (saml)"),
        cite("C", "2025-03-31 00:00"),  # day 89 after A
        cite("D", "2025-06-01 00:00"),  # later citations are listed too
    ]
    [p] = find_patterns(cs, threshold=3, window_days=90)
    assert (p.kind, p.key, p.label) == ("product_gap", "saml sso", "SAML SSO")
    assert (p.window_start, p.window_end) == (t("2025-01-01 00:00"), t("2025-03-31 00:00"))
    assert p.accounts == ["A", "B", "C", "D"]


def test_spread_over_more_than_the_window_is_no_pattern() -> None:
    cs = [
        cite("A", "2025-01-01 00:00"),
        cite("B", "2025-03-01 00:00"),
        cite("C", "2025-04-02 00:00"),  # 91 days after A: A has left the window
    ]
    assert find_patterns(cs, threshold=3, window_days=90) == []
    # ...but a later window can still reach the threshold
    [p] = find_patterns([*cs, cite("D", "2025-05-01 00:00")], threshold=3, window_days=90)
    assert p.window_start == t("2025-03-01 00:00") and p.accounts == ["B", "C", "D"]


def test_one_customer_citing_twice_counts_once() -> None:
    cs = [cite("A", "2025-01-01 00:00"), cite("A", "2025-01-02 00:00"), cite("B", "2025-01-03")]
    assert find_patterns(cs, threshold=3) == []
    assert len(find_patterns(cs, threshold=2)) == 1


def test_kinds_and_keys_are_separate_and_citations_after_as_of_ignored() -> None:
    cs = [cite(a, "2025-01-01 00:00") for a in "AB"] + [
        cite("C", "2025-01-02 00:00", "support unreachable", "service_issue"),
        cite("D", "2025-01-02 00:00", "Support unreachable.", "service_issue"),
        cite("E", "2025-09-01 00:00"),
    ]
    assert find_patterns(cs, threshold=3, as_of=t("2025-06-01 00:00")) == []
    found = find_patterns(cs, threshold=2, as_of=t("2025-06-01 00:00"))
    assert {(p.kind, p.key, len(p.accounts)) for p in found} == {
        ("product_gap", "saml sso", 2),
        ("service_issue", "support unreachable", 2),
    }


def test_after_a_fix_only_new_citations_count() -> None:
    cs = [cite(a, "2025-01-0" + str(i + 1)) for i, a in enumerate("ABC")]
    fixed = {("product_gap", "saml sso"): t("2025-01-10 00:00")}
    assert find_patterns(cs, threshold=3, after=fixed) == []
    again = cs + [cite(a, "2025-02-0" + str(i + 1)) for i, a in enumerate("DEF")]
    [p] = find_patterns(again, threshold=3, after=fixed)
    assert p.accounts == ["D", "E", "F"]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        find_patterns([], threshold=0)
    with pytest.raises(ValueError):
        find_patterns([], window_days=0)


def test_citations_from_the_dashboard_tables() -> None:
    d = dataset()
    cs = citations_from_frames(d.cases, d.feedback)
    got = sorted((c.kind, c.key, c.case_id, c.source) for c in cs)
    assert got == [
        ("product_gap", "saml sso", "C1", "feedback"),
        ("product_gap", "saml sso", "C1", "reason"),
        ("product_gap", "saml sso", "C3", "reason"),
        ("service_issue", "support unreachable", "C8", "reason"),  # an experience reason
    ]
    # the saved case C4 and the misrouted C5 never count; two accounts cite SSO
    [p] = find_patterns(cs, threshold=2, window_days=90)
    assert p.accounts == ["A1", "A3"]
    assert p.window_end - p.window_start < timedelta(days=90)
