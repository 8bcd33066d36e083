"""Persistence: SQLAlchemy 2 tables, Alembic migrations, the embedded SQLite default and
PostgreSQL by URL (shared/DESIGN.md, Persistence and service)."""
