"""Persistence: SQLAlchemy 2 tables, Alembic migrations, the embedded SQLite default and
PostgreSQL by URL (docs/architecture.md, Persistence and service)."""
