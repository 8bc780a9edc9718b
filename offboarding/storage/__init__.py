"""Storage: engine and sessions, the SQLAlchemy models, the Alembic migrations. Not pure."""
