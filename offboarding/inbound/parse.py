"""A SendGrid Inbound Parse post as plain data: who sent it (From and the envelope), what it
says (text, else the HTML as text), its attachments' metadata, its Message-ID and the thread it
answers, and what SPF and DKIM said of the sender. Pure: the form fields are already read."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

#: Room for the case's external reference (200 characters): a longer key is hashed.
MAX_KEY = 200
BODY_EXCERPT = 4000
SUBJECT_MAX = 500
_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Attachment:
    """What we keep of an attachment: never its content."""

    name: str
    type: str
    size: int
    sha256: str | None  # None when it was larger than the limit (not hashed to the end)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # the From address, lower case ("" when there is none)
    sender_name: str
    subject: str
    body: str
    message_id: str  # without angle brackets; derived from the content when missing
    references: tuple[str, ...]  # In-Reply-To first, then References (newest first)
    spf: str
    dkim: dict[str, str]  # signing domain -> result
    envelope_from: str
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sender_domain(self) -> str:
        return domain_of(self.sender)

    @property
    def key(self) -> str:
        return key_for("email", self.message_id)

    @property
    def thread_keys(self) -> list[str]:
        return [key_for("email", r) for r in self.references]

    def authentication(self) -> tuple[bool, str]:
        """(authenticated, how): DKIM passed for the From domain (or a parent domain of it),
        or SPF passed for an envelope sender of that same domain. Anything else is a From
        address nobody vouched for."""
        domain = self.sender_domain
        if not domain:
            return False, "no From address"
        for signer, result in self.dkim.items():
            if result == "pass" and aligned(domain, signer):
                return True, f"DKIM pass for {signer}"
        if self.spf == "pass" and aligned(domain, domain_of(self.envelope_from)):
            return True, f"SPF pass for {domain_of(self.envelope_from)}"
        return False, f"SPF {self.spf or 'none'}, DKIM {format_dkim(self.dkim) or 'none'}"


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].strip().lower() if "@" in address else ""


def aligned(sender_domain: str, other: str) -> bool:
    """Relaxed alignment (as DMARC): the same domain, or one is a subdomain of the other's
    organisational domain as far as we can tell without a public-suffix list."""
    other = other.strip().lower().lstrip("@")
    if not other or not sender_domain:
        return False
    return sender_domain == other or sender_domain.endswith("." + other)


def key_for(prefix: str, ident: str) -> str:
    """The message key (and the case's external reference): `prefix:ident`, hashed when long."""
    key = f"{prefix}:{ident}"
    if len(key) <= MAX_KEY:
        return key
    return f"{prefix}:sha256:{hashlib.sha256(ident.encode()).hexdigest()}"


def parse_dkim(value: str) -> dict[str, str]:
    """SendGrid's `dkim` field, e.g. `{@acme.example : pass, @mailer.example : fail}`."""
    out: dict[str, str] = {}
    for part in value.strip().strip("{}").split(","):
        if ":" not in part:
            continue
        domain, result = part.rsplit(":", 1)
        domain = domain.strip().lstrip("@").lower()
        if domain:
            out[domain] = result.strip().lower()
    return out


def format_dkim(dkim: dict[str, str]) -> str:
    return ", ".join(f"{d} {r}" for d, r in dkim.items())


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: scripts and styles dropped, blocks on new lines."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\r\f\v]+", " ", text)).strip()


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _json(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def attachment_metadata(
    fields: dict[str, str], files: dict[str, tuple[str, str, int, str | None]]
) -> tuple[Attachment, ...]:
    """Attachments from `attachment-info` (names and types as the sender gave them) and the
    uploaded parts (`attachment1`...: filename, content type, size, SHA-256 as read)."""
    info = _json(fields.get("attachment-info")) or {}
    out = []
    for part, (filename, ctype, size, digest) in sorted(files.items()):
        meta = info.get(part) if isinstance(info, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        name = str(meta.get("filename") or meta.get("name") or filename or part)
        out.append(Attachment(name, str(meta.get("type") or ctype or ""), size, digest))
    return tuple(out)


def parse_sendgrid(
    fields: dict[str, str],
    files: dict[str, tuple[str, str, int, str | None]] | None = None,
) -> InboundEmail:
    """The parsed form of one post. Headers come from the raw `headers` field (SendGrid's
    `from`, `subject` fields are used when a header is missing)."""
    headers = HeaderParser().parsestr(fields.get("headers") or "", headersonly=True)
    name, sender = parseaddr(headers.get("From") or fields.get("from") or "")
    sender = sender.strip().lower() if "@" in sender else ""
    subject = (fields.get("subject") or str(headers.get("Subject") or "")).strip()
    body = (fields.get("text") or "").strip() or html_to_text(fields.get("html") or "")
    refs = message_ids(headers.get("In-Reply-To"))
    refs += [r for r in reversed(message_ids(headers.get("References"))) if r not in refs]
    envelope = _json(fields.get("envelope")) or {}
    envelope_from = str(envelope.get("from") or "") if isinstance(envelope, dict) else ""
    own = message_ids(headers.get("Message-ID"))
    message_id = own[0] if own else _derived_id(sender, subject, headers.get("Date"), body)
    to = [a for _, a in getaddresses([fields.get("to") or str(headers.get("To") or "")]) if a]
    return InboundEmail(
        sender=sender,
        sender_name=name.strip(),
        subject=subject[:SUBJECT_MAX],
        body=body,
        message_id=message_id,
        references=tuple(r for r in refs if r != message_id),
        spf=(fields.get("SPF") or fields.get("spf") or "").strip().lower(),
        dkim=parse_dkim(fields.get("dkim") or ""),
        envelope_from=envelope_from.strip().lower(),
        attachments=attachment_metadata(fields, files or {}),
        extra={"to": to, "sender_ip": fields.get("sender_ip") or ""},
    )


def _derived_id(sender: str, subject: str, date: str | None, body: str) -> str:
    """A message without a Message-ID still posts twice as one: key it by its content."""
    text = "\n".join([sender, subject, str(date or ""), body])
    return "derived-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def excerpt(text: str, limit: int = BODY_EXCERPT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reason_text(subject: str, body: str, limit: int = 1000) -> str:
    """What the case records of the customer's words: the subject and the start of the body."""
    body = excerpt(body, limit)
    return f"{subject}\n\n{body}".strip() if subject else body
