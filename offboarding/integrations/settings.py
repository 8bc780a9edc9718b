"""Each vendor configured its own standard way (its own environment variables), each adapter
on when its settings are present; base URLs are overridable so tests reach local servers.

Secrets are `repr=False` and never logged.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class IntegrationSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Billing: Stripe (`stripe` reads STRIPE_API_KEY in its own examples)
    stripe_api_key: str = Field("", repr=False, validation_alias=_env("STRIPE_API_KEY"))
    stripe_api_base: str = Field(
        "https://api.stripe.com", validation_alias=_env("OFFBOARDING_STRIPE_API_BASE")
    )
    # CRM: HubSpot private app token
    hubspot_access_token: str = Field("", repr=False, validation_alias=_env("HUBSPOT_ACCESS_TOKEN"))
    hubspot_api_base: str = Field(
        "https://api.hubapi.com", validation_alias=_env("OFFBOARDING_HUBSPOT_API_BASE")
    )
    # Access: the product's SCIM 2.0 directory
    scim_base_url: str = Field("", validation_alias=_env("OFFBOARDING_SCIM_URL"))
    scim_token: str = Field("", repr=False, validation_alias=_env("OFFBOARDING_SCIM_TOKEN"))
    # Team notice: Slack (slack-sdk reads SLACK_BOT_TOKEN in its own examples)
    slack_bot_token: str = Field("", repr=False, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=_env("OFFBOARDING_SLACK_API_URL")
    )
    slack_channel: str = Field("", validation_alias=_env("OFFBOARDING_SLACK_CHANNEL"))
    slack_escalation_channel: str = Field(
        "", validation_alias=_env("OFFBOARDING_SLACK_ESCALATION_CHANNEL")
    )
    # Outbound webhooks: a JSON list of {"name", "url", "secret", "events": [...]} or a file
    webhooks: str = Field("", repr=False, validation_alias=_env("OFFBOARDING_WEBHOOKS"))
    webhooks_file: str = Field("", validation_alias=_env("OFFBOARDING_WEBHOOKS_FILE"))

    @property
    def stripe_on(self) -> bool:
        return bool(self.stripe_api_key)

    @property
    def hubspot_on(self) -> bool:
        return bool(self.hubspot_access_token)

    @property
    def scim_on(self) -> bool:
        return bool(self.scim_base_url and self.scim_token)

    @property
    def webhooks_on(self) -> bool:
        return bool(self.webhooks or self.webhooks_file)

    @property
    def slack_on(self) -> bool:
        return bool(self.slack_bot_token and self.slack_channel)


@lru_cache
def integration_settings() -> IntegrationSettings:
    return IntegrationSettings()
