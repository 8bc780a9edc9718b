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
    bucket: str = "offboarding-exports"
    prefix: str = ""
    outbox_dir: Path | None = None
    sendgrid_api_key: str = Field("", description="SendGrid API key; empty: write the file outbox")
    sendgrid_host: str = Field("https://api.sendgrid.com", description="SendGrid API base URL")
    mail_from: str = Field("", description="Verified sender address; empty: the owner's address")
    ui_url: str = "http://127.0.0.1:4200"
    winback_cron: str = Field("0 2 * * *", description="When the nightly win-back scan runs")
    winback_timezone: str = Field("UTC", description="Time zone of that cron and of 'tonight'")
    deployment_prefix: str = "offboarding"

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
