"""The embedded mailer: each message becomes an .eml file plus a line in index.jsonl.

File names are deterministic (case, kind, sequence), so writing the same message again
after a crash replaces the file instead of adding a second message.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path

from offboarding.messages import RenderedMessage


class FileOutbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(
        self,
        case_id: str,
        seq: int,
        message: RenderedMessage,
        to: list[str],
        sender: tuple[str, str],
        attachments: list[tuple[str, bytes, str]] | None = None,
    ) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        mail = EmailMessage()
        mail["From"] = formataddr(sender)
        mail["To"] = ", ".join(to)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["X-Offboarding-Case"] = case_id
        mail["X-Offboarding-Kind"] = message.kind
        mail.set_content(message.text)
        for name, data, ctype in attachments or []:
            maintype, _, subtype = ctype.partition("/")
            mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        path = self.directory / f"{case_id}-{message.kind}-{seq}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(mail))
        tmp.replace(path)
        index = self.directory / "index.jsonl"
        with index.open("a", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    {
                        "case_id": case_id,
                        "kind": message.kind,
                        "seq": seq,
                        "to": to,
                        "subject": message.subject,
                        "file": path.name,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        return path
