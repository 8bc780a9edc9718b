"""The embedded mailer: each message becomes an `.eml` file plus a line in `index.jsonl`.

A person opens the `.eml` in any mail client (text and HTML alternatives, attachments
included). File names are deterministic (case, kind, sequence) and written atomically, so
writing the same message again after a crash replaces the file instead of adding a second
message, and the index gains a line only for a key it does not already list.
"""

from __future__ import annotations

import json
import os
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path

from offboarding.comms.mailer import Attempt, Delivery, OutgoingMessage
from offboarding.storage.db import utcnow

INDEX = "index.jsonl"


class FileOutbox:
    provider = "file"
    replay_safe = True

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, message: OutgoingMessage) -> Path:
        return self.directory / f"{message.case_id}-{message.kind}-{message.seq}.eml"

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((message.sender.name, message.sender.email))
        mail["To"] = ", ".join(message.to)
        if message.reply_to is not None:
            mail["Reply-To"] = formataddr((message.reply_to.name, message.reply_to.email))
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.key}@offboarding.local>"
        mail["X-Offboarding-Case"] = message.case_id
        mail["X-Offboarding-Kind"] = message.kind
        mail["X-Offboarding-Key"] = message.key
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for a in message.attachments:
            maintype, _, subtype = a.content_type.partition("/")
            mail.add_attachment(
                a.content, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename
            )
        mail["Content-Language"] = message.locale  # after the body: set_content drops Content-*
        return mail

    def _indexed(self, key: str) -> bool:
        index = self.directory / INDEX
        if not index.exists():
            return False
        with index.open(encoding="utf-8") as fh:
            return any(json.loads(line).get("key") == key for line in fh if line.strip())

    def send(self, message: OutgoingMessage) -> Delivery:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(message)
        replay = path.exists()  # a previous attempt got this far: the index may list it already
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(bytes(self.build(message)))
        tmp.replace(path)
        if not (replay and self._indexed(message.key)):
            line = {
                "key": message.key,
                "case_id": message.case_id,
                "kind": message.kind,
                "seq": message.seq,
                "locale": message.locale,
                "to": list(message.to),
                "subject": message.subject,
                "attachments": [a.filename for a in message.attachments],
                "file": path.name,
            }
            with (self.directory / INDEX).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return Delivery(
            provider=self.provider,
            location=str(path),
            attempts=(Attempt(at=utcnow(), outcome="accepted", detail=path.name),),
        )
