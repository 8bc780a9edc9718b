"""Integrations: the systems a customer-success team already runs (billing, CRM, identity
provider, chat, webhooks), each behind a small port, each call made exactly once."""
