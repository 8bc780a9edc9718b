"""One settings object from the environment (`OFFBOARDING_*`); S3 itself is configured by boto3.

The length of a "day" is one setting so the whole timeline compresses for demos and tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from offboarding.policy import Policy, load_policy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFFBOARDING_", extra="ignore")

    state_dir: Path = Field(Path(".state"), description="Project-local state folder")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in state_dir")
    policy_file: str = Field("", description="YAML/JSON policy file; defaults are the playbook's")
    day_seconds: float = Field(86_400, description="Length of one playbook day, in seconds")
    stage_slot_seconds: float = Field(
        0, description="Later stages due within one slot share a run; 0: an hour (a day if shorter)"
    )
    bucket: str = "offboarding-exports"
    prefix: str = ""
    outbox_dir: Path | None = None
    sendgrid_api_key: str = Field("", description="SendGrid API key; empty: write the file outbox")
    sendgrid_host: str = Field("https://api.sendgrid.com", description="SendGrid API base URL")
    mail_from: str = Field("", description="Verified sender address; empty: the owner's address")
    ui_url: str = "http://127.0.0.1:4200"
    winback_cron: str = Field("0 2 * * *", description="When the nightly win-back scan runs")
    winback_timezone: str = Field("UTC", description="Time zone of that cron and of 'tonight'")
    early_warning_cron: str = Field("30 6 * * *", description="When the daily at-risk scan runs")
    early_warning_timezone: str = Field("UTC", description="Time zone of that cron and of 'today'")
    deployment_prefix: str = "offboarding"
    max_run_restarts: int = Field(
        3, description="Restarts of a failed case run before the case is handed to people"
    )
    recovery_cron: str = Field(
        "*/5 * * * *", description="How often failed and orphaned runs are looked for; '' never"
    )
    secret_key: str = Field(
        "", repr=False, description="Signs decision codes and links; empty: state_dir/secret.key"
    )
    signing_key: str = Field(
        "", repr=False, description="Ed25519 PEM signing receipts; empty: state_dir key file"
    )
    token: str = Field("", repr=False, description="The CLI user's personal API token")
    token_file: Path | None = Field(None, description="A 0600 file holding that token")
    web_url: str = Field("", description="Base URL of the decision pages and the intake API")
    intake_secrets: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='Per-channel secrets of the signed intake API, JSON: {"portal": "..."}',
    )
    inbound_parse_secret: str = Field(
        "",
        repr=False,
        description='SendGrid Inbound Parse basic-auth credentials "user:password" (in its URL)',
    )
    inbound_parse_public_key: str = Field(
        "", description="SendGrid signed Inbound Parse verification key (base64); '' not used"
    )
    inbound_max_attachment_bytes: int = Field(
        25 * 1024 * 1024, description="Attachments are hashed up to this size; none is stored"
    )
    helpdesk_secrets: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='Per-source helpdesk webhook signing secrets, JSON: {"zendesk": "..."}',
    )
    helpdesk_mapping: str = Field(
        "", description="YAML mapping of helpdesk webhook fields; '' the shipped Zendesk one"
    )

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.state_dir / 'offboarding.db').resolve()}"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or self.state_dir / "outbox"

    def policy(self) -> Policy:
        return load_policy(self.policy_file or None)


@lru_cache
def get_settings() -> Settings:
    return Settings()
