"""Storage: SQLAlchemy 2.0 models, engine/session setup, repository queries, Alembic migrations.

Nothing outside this package speaks SQL.
"""
