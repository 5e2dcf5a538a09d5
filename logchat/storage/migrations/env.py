"""Alembic environment: always run from code with a connection handed over by logchat."""

from __future__ import annotations

from alembic import context

from logchat.storage.migrate import include_object
from logchat.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("logchat migrations run from code: use `logchat db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
