"""logchat's log lines carry the context of the work that wrote them, in tasks and in worker threads,
in both formats, and configuring twice does not write every line twice."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from logchat.config import LoggingSettings
from logchat.observability import logs


@pytest.fixture(autouse=True)
def _loggers_as_they_were():  # type: ignore[no-untyped-def]
    """configure() changes process-wide loggers; other tests (caplog) need them as they were."""
    names = ("logchat", "aiohttp", logs.LIFECYCLE_LOGGER)
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate,
                    logging.getLogger(name).level) for name in names}
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


def _capture(fmt: str) -> io.StringIO:
    stream = io.StringIO()
    logs.configure(LoggingSettings(format=fmt), level="debug", stream=stream)
    return stream


def test_context_follows_tasks_and_worker_threads_into_json_lines() -> None:
    stream = _capture("json")
    log = logging.getLogger("logchat.test")

    async def handle() -> None:
        with logs.bound(request_id="r-1", route="/api/v1/ask"):
            logs.bind(user_id=7)
            await asyncio.create_task(asyncio.sleep(0, log.info("in a task")))
            with ThreadPoolExecutor(1) as pool:
                await asyncio.get_running_loop().run_in_executor(pool, logs.carry(log.warning, "in a %s", "thread"))
        log.info("after the request")

    asyncio.run(handle())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["in a task", "in a thread", "after the request"]
    for line in lines[:2]:
        assert (line["request_id"], line["route"], line["user_id"], line["logger"]) == \
            ("r-1", "/api/v1/ask", 7, "logchat.test")
    assert lines[1]["level"] == "WARNING" and "timestamp" in lines[1]
    assert "request_id" not in lines[2]  # the context ended with the request


def test_text_lines_name_the_context_and_configuring_again_replaces_the_handler() -> None:
    _capture("json")
    stream = _capture("text")
    with logs.bound(request_id="r-2"):
        logging.getLogger("logchat.test").info("done", extra={"duration_ms": 1.5})
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("INFO logchat.test: done [request_id=r-2 duration_ms=1.5]")
    assert len([h for h in logging.getLogger("logchat").handlers if h.get_name() == "logchat"]) == 1
