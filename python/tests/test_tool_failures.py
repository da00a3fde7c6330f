"""Issue 13 item 7 in Python: a tool that raises is not silent, and its
exception (which may hold a secret) is not what the model reads.

Against the simulator, whose ``GET /_sim/requests`` shows what the model was
really sent: the turn that asked for the call keeps the exception and its
traceback (``turn.tool_failures``); the ``creditpool`` logger got it; the
request after the tool carries the core's default words, not the secret; a
formatter (``tool_error=``) chooses what the model reads when the words ask
for ``{error}``. Sync and async alike.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import pytest

import creditpool as cp

MODEL = "claude-haiku-4-5"
SECRET = "postgres://admin:hunter2@db.internal/prod"
SCRIPT = {"steps": [{"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}, {"name": "price", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]}


def _post_json(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _tool_results_received(sim: str) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of the requests the simulator received."""
    with urllib.request.urlopen(sim + "/_sim/requests", timeout=10) as resp:
        requests = json.loads(resp.read())
    return [b for r in requests for m in r["body"]["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]


@cp.tool
def lookup(item: str) -> str:
    """Look an item up."""
    raise ConnectionError(f"cannot reach {SECRET}")


@cp.tool
def price(item: str) -> str:
    """An item's price."""
    return "$12"


def _check_run(outcome: cp.AgentOutcome, caplog: pytest.LogCaptureFixture, sim: str) -> None:
    assert outcome.ok, outcome.error
    # The turn that asked for the call keeps the exception and its traceback.
    first, second = outcome.turns
    [failure] = first.tool_failures
    assert failure.tool == "lookup" and failure.call_id.startswith("toolu_")
    assert isinstance(failure.exception, ConnectionError) and SECRET in str(failure.exception)
    assert "raise ConnectionError" in failure.traceback and "Traceback" in failure.traceback
    assert second.tool_failures == []
    assert outcome.tool_failures == [failure]
    # The core's record names the call only: the outcome's JSON holds no secret.
    assert first.to_dict()["tool_failures"] == [{"call_id": failure.call_id, "tool": "lookup"}]
    assert SECRET not in json.dumps(outcome.to_dict())
    # Logged on the creditpool logger, with the traceback.
    records = [r for r in caplog.records if r.name == "creditpool" and "lookup" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.WARNING and records[0].exc_info is not None
    assert SECRET in caplog.text
    # What the model was sent: the core's default words, not the secret.
    failed, ok = _tool_results_received(sim)
    assert failed["is_error"] is True and failed["content"] == 'The tool "lookup" failed. Its error is not shown; try another way, or answer without it.'
    assert ok["content"] == "$12" and "is_error" not in ok
    assert "hunter2" not in json.dumps(_tool_results_received(sim))


def test_a_raising_tool_is_kept_on_its_turn_logged_and_the_model_reads_the_safe_default(sim: str, caplog: pytest.LogCaptureFixture) -> None:
    _post_json(sim + "/_sim/scenario", SCRIPT)
    with cp.Client(api_key="sk-sim", base_url=sim) as client, caplog.at_level(logging.WARNING, logger="creditpool"):
        outcome = cp.Agent(client, [lookup, price], None, "a", model=MODEL, max_tokens=50).run("Look up a lamp")
    _check_run(outcome, caplog, sim)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_the_same_with_arun(sim: str, caplog: pytest.LogCaptureFixture) -> None:
    _post_json(sim + "/_sim/scenario", SCRIPT)
    async with cp.AsyncClient(api_key="sk-sim", base_url=sim) as client:
        with caplog.at_level(logging.WARNING, logger="creditpool"):
            outcome = await cp.Agent(client, [lookup, price], None, "a", model=MODEL, max_tokens=50).arun("Look up a lamp")
    _check_run(outcome, caplog, sim)


def test_the_formatter_chooses_what_the_model_reads_when_the_words_ask_for_the_error(sim: str) -> None:
    _post_json(sim + "/_sim/scenario", SCRIPT)
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        agent = cp.Agent(
            client, [lookup, price], None, "a", model=MODEL, max_tokens=50,
            texts={"tool_failed": 'The tool "{name}" failed: {error}'},
            tool_error=lambda e: type(e).__name__,
        )
        outcome = agent.run("Look up a lamp")
    failed, _ok = _tool_results_received(sim)
    assert failed["content"] == 'The tool "lookup" failed: ConnectionError'
    # The turn keeps the whole exception whatever the model read.
    assert SECRET in str(outcome.turns[0].tool_failures[0].exception)


def test_a_toolbox_outside_an_agent_logs_a_raising_tool_and_the_model_reads_the_safe_default(caplog: pytest.LogCaptureFixture) -> None:
    box = cp.Toolbox([lookup])
    with caplog.at_level(logging.WARNING, logger="creditpool"):
        [block] = box.respond([{"type": "tool_use", "id": "toolu_x", "name": "lookup", "input": {"item": "lamp"}}])
    assert block["is_error"] is True and "hunter2" not in json.dumps(block)
    records = [r for r in caplog.records if r.name == "creditpool" and "lookup" in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is not None and SECRET in caplog.text
