"""ORM models. Each area has its own module; all share one metadata so Alembic sees everything."""

from logchat.storage.models.audit import AuditEntry
from logchat.storage.models.auth import LoginFailure, LoginThrottle, TokenRevocation, User
from logchat.storage.models.base import Base
from logchat.storage.models.chat import ChatSession, ChatTurn, VectorSignature, VectorWindow
from logchat.storage.models.logs import (
    Event,
    EventRollup,
    Source,
    SourceGeneration,
    Template,
    TemplateField,
    TemplateMinerState,
    ValueCount,
    ValueCountField,
)
from logchat.storage.models.sources import ConfiguredSource, SourceStatus
from logchat.storage.models.store import StoreIdentity
from logchat.storage.models.usage import UsageRecord, UsageScope
from logchat.storage.models.vectors import VectorEmbedding

__all__ = [
    "AuditEntry", "Base", "ChatSession", "ChatTurn", "ConfiguredSource", "Event", "EventRollup", "LoginFailure",
    "LoginThrottle", "Source", "SourceGeneration", "SourceStatus", "StoreIdentity", "Template", "TemplateField",
    "TemplateMinerState", "TokenRevocation", "UsageRecord", "UsageScope", "User", "ValueCount",
    "ValueCountField", "VectorEmbedding",
    "VectorSignature", "VectorWindow",
]
