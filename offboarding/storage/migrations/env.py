"""Alembic environment: the URL comes from the config our code builds (no alembic.ini)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from offboarding.storage.models import (
    Base,
    comms,  # noqa: F401  (communications tables)
    early_warning,  # noqa: F401  (early-warning tables)
    export,  # noqa: F401  (export and purge tables)
    feedback,  # noqa: F401  (feedback and dashboard tables)
    inbound,  # noqa: F401  (inbound email and helpdesk messages)
    integrations,  # noqa: F401  (vendor call ledger)
    trust,  # noqa: F401  (trust boundary tables)
    winback,  # noqa: F401  (win-back tables)
)

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
