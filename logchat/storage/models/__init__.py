"""ORM models. Each area has its own module; all share one metadata so Alembic sees everything."""

from logchat.storage.models.base import Base
from logchat.storage.models.logs import Event, Source, Template, TemplateMinerState

__all__ = ["Base", "Event", "Source", "Template", "TemplateMinerState"]
