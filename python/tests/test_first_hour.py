"""A new user's first hour (issue 13): the mistakes a newcomer makes get a
typed error in Python's words before anything is sent or spent."""

from __future__ import annotations

import json
import logging
import subprocess
import urllib.request
from typing import Any, Iterator

import pytest

import creditpool as cp

from conftest import _sim_binary

MODEL = "claude-haiku-4-5"
HI = [{"role": "user", "content": "Hi"}]
NOWHERE = "http://127.0.0.1:9"
"""A base URL nothing listens on: a request that was sent would fail with
``APIConnectionError``, so a typed error proves nothing was sent."""


def _post_json(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


# ----- item 2: misspelled request arguments -----


def test_a_misspelled_create_argument_is_refused_before_sending() -> None:
    with cp.Client(api_key="sk-test", base_url=NOWHERE, max_retries=0) as client:
        with pytest.raises(cp.UnknownParameterError) as e:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI, temprature=0.5)
    assert e.value.parameter == "temprature"
    assert e.value.suggestion == "temperature"
    assert e.value.code == "unknown_parameter"
    assert "did you mean `temperature`" in str(e.value)
    assert isinstance(e.value, cp.RequestBuildError) and isinstance(e.value, ValueError)


def test_stream_and_count_tokens_check_their_arguments_too() -> None:
    with cp.Client(api_key="sk-test", base_url=NOWHERE, max_retries=0) as client:
        with pytest.raises(cp.UnknownParameterError):
            client.messages.stream(model=MODEL, max_tokens=10, messages=HI, top_q=0.5)
        with pytest.raises(cp.UnknownParameterError) as e:
            client.messages.count_tokens(model=MODEL, messages=HI, sytem="be brief")
    assert e.value.suggestion == "system"


def test_a_misspelled_agent_argument_names_the_agent_option() -> None:
    client = cp.Client(api_key="sk-test", base_url=NOWHERE)
    with pytest.raises(cp.UnknownParameterError) as e:
        cp.Agent(client, [], None, "researcher", model=MODEL, max_turn=3)
    assert (e.value.parameter, e.value.suggestion) == ("max_turn", "max_turns")
    # A request parameter by its own name is still accepted.
    cp.Agent(client, [], None, "researcher", model=MODEL, temperature=0.2)


def test_extra_body_is_sent_as_given(sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=sim, max_retries=0) as client:
        # The simulator, like the API, refuses a field it does not know: the
        # 400 proves the field was sent.
        with pytest.raises(cp.BadRequestError) as e:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI, extra_body={"brand_new_field": True})
        assert "brand_new_field: Extra inputs are not permitted" in str(e.value)
        assert client.messages.create(model=MODEL, max_tokens=10, messages=HI).content
        # extra_body may not smuggle a bounded parameter past the reservation.
        with pytest.raises(cp.RequestBuildError) as r:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI, extra_body={"max_tokens": 100000})
        assert r.value.code == "invalid_request"


# ----- item 10: the pool selector against an API that does not know it -----


@pytest.fixture
def rejecting_sim() -> Iterator[str]:
    """A simulator started with ``--reject-pool-selector``: it answers the
    pool selector as the real API answers any field it does not know."""
    proc = subprocess.Popen(
        [str(_sim_binary()), "--port", "0", "--reject-pool-selector"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        yield line[len("listening on ") :]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def test_an_api_that_does_not_know_the_selector_gets_a_typed_error_in_python_words(rejecting_sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=rejecting_sim) as client:
        with pytest.raises(cp.PoolSelectorRejectedError) as e:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        assert isinstance(e.value, cp.BadRequestError)
        assert e.value.code == "pool_selector_rejected"
        assert (e.value.field, e.value.status) == ("credit_pool", 400)
        assert e.value.message == "credit_pool: Extra inputs are not permitted"
        assert e.value.attempts == 1  # a 400 is not retried
        assert "pool_selector=False" in str(e.value)
        # An agent's run ends the same way, and spends nothing.
        pool = cp.Pool(cp.usd("1"))
        outcome = cp.Agent(client, [], pool, "a", model=MODEL, max_tokens=10).run("Hello")
        assert outcome.status == "failed"
        assert isinstance(outcome.error, cp.PoolSelectorRejectedError)
        assert "pool_selector=False" in str(outcome.error)
        assert pool.settled == cp.nanos(0)
    # The remedy the words name works.
    with cp.Client(api_key="sk-sim", base_url=rejecting_sim, pool_selector=False) as client:
        assert client.messages.create(model=MODEL, max_tokens=10, messages=HI).content


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_raises_it_too(rejecting_sim: str) -> None:
    async with cp.AsyncClient(api_key="sk-sim", base_url=rejecting_sim) as client:
        with pytest.raises(cp.PoolSelectorRejectedError):
            await client.messages.create(model=MODEL, max_tokens=10, messages=HI)


# ----- item 7: a tool that raises is not silent -----

SECRET = "postgres://admin:hunter2@db.internal/prod"


def test_a_tool_that_raises_is_logged_kept_and_not_shown_to_the_model(sim: str, caplog: pytest.LogCaptureFixture) -> None:
    _post_json(sim + "/_sim/scenario", {"steps": [{"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]})

    @cp.tool
    def lookup(item: str) -> str:
        """Look an item up."""
        raise ConnectionError(f"cannot reach {SECRET}")

    with cp.Client(api_key="sk-sim", base_url=sim) as client, caplog.at_level(logging.WARNING, logger="creditpool"):
        outcome = cp.Agent(client, [lookup], None, "a", model=MODEL).run("Look up a lamp")
    # The run still completes (the model read an is_error result) ...
    assert outcome.ok, outcome.error
    result = outcome.transcript[2]["content"][0]
    assert result["is_error"] is True
    # ... whose words, by default, do not carry the exception's text.
    assert SECRET not in json.dumps(outcome.transcript)
    assert 'The tool "lookup" failed.' in result["content"]
    # Logged through `logging`, with the traceback.
    records = [r for r in caplog.records if r.name == "creditpool" and "lookup" in r.getMessage()]
    assert records and records[0].levelno == logging.WARNING and records[0].exc_info is not None
    # Kept on the outcome, exception and traceback.
    [failure] = outcome.tool_failures
    assert failure.tool == "lookup" and isinstance(failure.exception, ConnectionError)
    assert "raise ConnectionError" in failure.traceback


def test_the_model_reads_the_error_only_when_asked(sim: str) -> None:
    _post_json(sim + "/_sim/scenario", {"steps": [{"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}]}, {"text": "Sorry."}] * 2})

    @cp.tool
    def lookup(item: str) -> str:
        """Look an item up."""
        raise LookupError(f"{item} is out of stock ({SECRET})")

    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        shown = cp.Agent(client, [lookup], None, "a", model=MODEL, texts={"tool_failed": 'The tool "{name}" failed: {error}'})
        content = shown.run("Look up a lamp").transcript[2]["content"][0]["content"]
        assert content.startswith('The tool "lookup" failed: lamp is out of stock')
        formatted = cp.Agent(
            client, [lookup], None, "a", model=MODEL,
            texts={"tool_failed": "{name}: {error}"}, tool_error=lambda e: type(e).__name__,
        )
        assert formatted.run("Look up a lamp").transcript[2]["content"][0]["content"] == "lookup: LookupError"
