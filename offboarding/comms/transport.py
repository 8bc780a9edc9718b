"""Which mailer a deployment uses: SendGrid when an API key is set, else the file outbox.

Kept apart from the port (`comms.mailer`) so the port never imports its adapters."""

from __future__ import annotations

from offboarding.comms.file_outbox import FileOutbox
from offboarding.comms.mailer import Mailer
from offboarding.settings import Settings


def build_mailer(settings: Settings) -> Mailer:
    """SendGrid when an API key is configured; otherwise the file outbox a person can open."""
    if settings.sendgrid_api_key:
        from offboarding.comms.sendgrid_mailer import SendGridMailer

        return SendGridMailer(settings.sendgrid_api_key, host=settings.sendgrid_host)
    return FileOutbox(settings.outbox)
