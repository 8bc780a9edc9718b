"""Alembic environment: the URL comes from the config our code builds (no alembic.ini)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from offboarding.storage import (
    models_comms,  # noqa: F401  (issue 4 tables)
    models_export,  # noqa: F401  (issue 3 tables)
    models_feedback,  # noqa: F401  (issue 6 tables)
    models_winback,  # noqa: F401  (issue 5 tables)
)
from offboarding.storage.models import Base

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
