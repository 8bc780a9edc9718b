"""The helpdesk mapping file: dotted paths (with alternatives and list filters) into a
webhook's JSON; the shipped Zendesk mapping reads a trigger's JSON body."""

from __future__ import annotations

import pytest

from offboarding.inbound.mapping import (
    DEFAULT_MAPPING,
    MappingError,
    extract,
    load_mappings,
    lookup,
    mapping_for,
)

ZENDESK = {
    "ticket": {
        "id": "4711",
        "title": "Please cancel our account",
        "description": "We are moving to another tool.",
        "requester": {"email": "Ann@Acme-Bakeries.example"},
        "organization": {"external_id": "ACME-SMB"},
        "tags": "cancellation billing",
    }
}


def test_the_shipped_zendesk_mapping_reads_a_trigger_body() -> None:
    mappings = load_mappings(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    ticket = extract(mapping_for(mappings, "zendesk"), ZENDESK)
    assert ticket.ticket_id == "4711"
    assert ticket.requester_email == "ann@acme-bakeries.example"
    assert (ticket.subject, ticket.account_id) == ("Please cancel our account", "ACME-SMB")
    assert ticket.tags == ("cancellation", "billing")
    assert "cancellation" in mapping_for(mappings, "zendesk")["cancellation_tags"]
    assert mapping_for(mappings, "other-desk") == mapping_for(mappings, "default")


def test_alternatives_and_list_filters() -> None:
    payload = {"t": {"id": 9, "custom_fields": [{"id": 1, "value": "A"}, {"id": 2, "value": "B"}],
                     "tags": ["x", " y "]}}  # fmt: skip
    assert lookup(payload, "t.custom_fields[id=2].value") == "B"
    assert lookup(payload, "t.custom_fields[id=3].value") is None
    assert lookup(payload, "t.missing.deeper") is None
    mapping = {
        "ticket_id": "t.id",
        "account_id": ["t.org.external_id", "t.custom_fields[id=1].value"],
        "tags": "t.tags",
    }
    ticket = extract(mapping, payload)
    assert (ticket.ticket_id, ticket.account_id, ticket.tags) == ("9", "A", ("x", "y"))
    assert ticket.requester_email == "" and ticket.subject == ""


def test_a_body_without_a_ticket_id_and_a_bad_file_are_refused() -> None:
    with pytest.raises(MappingError, match="no ticket id"):
        extract({"ticket_id": "ticket.id"}, {"ticket": {}})
    with pytest.raises(MappingError, match="no ticket_id"):
        load_mappings("desk:\n  subject: a.b\n")
    with pytest.raises(MappingError, match="unknown fields"):
        load_mappings("desk:\n  ticket_id: a\n  colour: red\n")
    with pytest.raises(MappingError):
        load_mappings("- just a list\n")
