"""Synchronous service calls run off the event loop, in the services' bounded thread pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from logchat.daemon.app import Services

_T = TypeVar("_T")


async def in_pool(services: Services, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run ``function`` in ``services.executor`` and await its result."""
    from logchat.observability.logs import carry

    loop = asyncio.get_running_loop()
    # The worker logs with the caller's context (request id, user).
    return await loop.run_in_executor(services.executor, carry(function, *args, **kwargs))
