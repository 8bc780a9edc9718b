"""Helpdesk webhooks differ in shape: a mapping file (YAML) says which field holds the ticket
id, the requester's email, the subject, the description, the account and the tags. Pure:
the file's text and the webhook's JSON come in, a `Ticket` comes out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MAPPING = Path(__file__).with_name("zendesk_mapping.yaml")
FIELDS = ("ticket_id", "requester_email", "subject", "description", "account_id", "tags")
_FILTER = re.compile(r"^(?P<name>[^\[\]]*)\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\]$")


class MappingError(ValueError):
    """A mapping file or a webhook body that does not fit it."""


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    requester_email: str
    subject: str
    description: str
    account_id: str
    tags: tuple[str, ...]


def load_mappings(text: str) -> dict[str, dict[str, Any]]:
    """Source name -> field mapping, from the file's YAML."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise MappingError("a helpdesk mapping file maps source names to field mappings")
    for source, fields in data.items():
        if "ticket_id" not in fields:
            raise MappingError(f"helpdesk mapping {source!r} has no ticket_id field")
        unknown = set(fields) - {*FIELDS, "cancellation_tags"}
        if unknown:
            raise MappingError(f"helpdesk mapping {source!r}: unknown fields {sorted(unknown)}")
    return {str(k): v for k, v in data.items()}


def mapping_for(mappings: dict[str, dict[str, Any]], source: str) -> dict[str, Any] | None:
    return mappings.get(source) or mappings.get("default")


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted path (`ticket.custom_fields[id=123].value`), or None."""
    node = payload
    for part in path.split("."):
        m = _FILTER.match(part)
        name = m.group("name") if m else part
        if name:
            node = node.get(name) if isinstance(node, dict) else None
        if m is not None:
            key, value = m.group("key"), m.group("value")
            items = node if isinstance(node, list) else []
            node = next((i for i in items if isinstance(i, dict) and str(i.get(key)) == value),
                        None)  # fmt: skip
        if node is None:
            return None
    return node


def first(payload: Any, paths: str | list[str] | None) -> Any:
    for path in [paths] if isinstance(paths, str) else paths or []:
        value = lookup(payload, path)
        if value not in (None, "", []):
            return value
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def tags_of(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(t for t in re.split(r"[\s,]+", value) if t)
    if isinstance(value, list):
        return tuple(str(t).strip() for t in value if str(t).strip())
    return ()


def extract(mapping: dict[str, Any], payload: Any) -> Ticket:
    """The ticket a webhook's JSON describes; MappingError when it has no ticket id."""
    ticket_id = _text(first(payload, mapping.get("ticket_id")))
    if not ticket_id:
        raise MappingError(f"no ticket id at {mapping.get('ticket_id')!r}")
    return Ticket(
        ticket_id=ticket_id,
        requester_email=_text(first(payload, mapping.get("requester_email"))).lower(),
        subject=_text(first(payload, mapping.get("subject"))),
        description=_text(first(payload, mapping.get("description"))),
        account_id=_text(first(payload, mapping.get("account_id"))),
        tags=tags_of(first(payload, mapping.get("tags"))),
    )
