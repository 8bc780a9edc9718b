"""Policy file: defaults are the playbook's numbers; a file overrides only what it gives."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from offboarding.policy import Policy, load_policy


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # §3
        ("save.max_conversations", 1),
        ("save.max_conversations_strategic", 2),
        ("save.strategic_arr_threshold", 100_000),
        ("save.low_value_arr_threshold", 5_000),
        ("save.long_tenure_years", 3.0),
        # §4
        ("approvals.manager_arr_threshold", 100_000),
        ("approvals.refund_beyond_terms_tolerance", 0.0),
        # §5
        ("timeline.export_days", (1, 3)),
        ("timeline.knowledge_transfer_days", (4, 7)),
        ("timeline.access_reduction_day", 8),
        ("timeline.closure_day", 15),
        ("timeline.deactivation_day", 16),
        # §6
        ("retention.retention_days", 90),
        ("retention.backup_months", 12),
        ("retention.export_target_hours", 48),
        # §1
        ("comms.acknowledgement_target_hours", 24),
        # §10
        ("winback.reminder_months", (6, 12)),
    ],
)
def test_defaults_equal_playbook_numbers(path, expected):
    section, key = path.split(".")
    assert getattr(getattr(Policy(), section), key) == expected


@pytest.mark.parametrize("path", [None, ""])
def test_no_path_gives_defaults(path):
    assert load_policy(path) == Policy()


def test_default_roles_have_holders():
    policy = Policy()
    assert policy.holders("manager") == {"maya.manager@example.com", "cs-lead@example.com"}
    assert policy.holders("legal") == {"lena.legal@example.com"}
    assert policy.holders("nobody") == set()


def test_default_sections_are_not_shared_between_instances():
    a, b = Policy(), Policy()
    a.approvals.roles["legal"].append("intruder@example.com")
    assert "intruder@example.com" not in b.holders("legal")


OVERRIDES = {
    "save": {"strategic_arr_threshold": 250000, "max_conversations": 1},
    "timeline": {"closure_day": 30},
    "retention": {"retention_days": 30},
}


def _check_overrides(policy: Policy) -> None:
    defaults = Policy()
    # given keys change
    assert policy.save.strategic_arr_threshold == 250_000
    assert policy.timeline.closure_day == 30
    assert policy.retention.retention_days == 30
    # keys not given keep the playbook defaults, in the same and in other sections
    assert policy.save.low_value_arr_threshold == defaults.save.low_value_arr_threshold
    assert policy.save.max_conversations_strategic == 2
    assert policy.timeline.export_days == (1, 3)
    assert policy.timeline.deactivation_day == 16
    assert policy.retention.backup_months == 12
    assert policy.approvals == defaults.approvals
    assert policy.comms == defaults.comms
    assert policy.winback == defaults.winback


def test_yaml_policy_file_overrides_only_keys_given(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "save:\n"
        "  strategic_arr_threshold: 250000\n"
        "  max_conversations: 1\n"
        "timeline:\n"
        "  closure_day: 30\n"
        "retention:\n"
        "  retention_days: 30\n",
        encoding="utf-8",
    )
    _check_overrides(load_policy(path))


def test_json_policy_file_overrides_only_keys_given(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(OVERRIDES), encoding="utf-8")
    _check_overrides(load_policy(str(path)))


def test_yaml_and_json_policy_files_agree(tmp_path):
    j = tmp_path / "p.json"
    y = tmp_path / "p.yml"
    j.write_text(json.dumps(OVERRIDES), encoding="utf-8")
    y.write_text(json.dumps(OVERRIDES), encoding="utf-8")  # JSON is valid YAML
    assert load_policy(j) == load_policy(y)


def test_yaml_tuple_fields_accept_lists(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("timeline:\n  export_days: [1, 2]\n", encoding="utf-8")
    assert load_policy(path).timeline.export_days == (1, 2)


def test_empty_policy_file_gives_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_policy(path) == Policy()


def test_missing_policy_file_gives_clear_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(FileNotFoundError, match="policy file not found") as exc:
        load_policy(missing)
    assert str(missing) in str(exc.value)


def test_invalid_value_in_policy_file_is_rejected(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"timeline": {"closure_day": "soon"}}), encoding="utf-8")
    with pytest.raises(ValidationError, match="closure_day"):
        load_policy(path)
