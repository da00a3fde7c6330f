"""A new user's first hour (issue 13, items 3, 6, 9 and 11): a misspelled
agent is refused with a suggestion, a failed connection says where it went,
and every mistake is answered with one of the package's typed errors, in
Python's words."""

from __future__ import annotations

import socket
import subprocess
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

import creditpool as cp

from conftest import _sim_binary

MODEL = "claude-haiku-4-5"
HI = [{"role": "user", "content": "Hi"}]
USD = 1_000_000_000


def closed_port_url() -> str:
    """The base URL of a local port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


# ----- item 3: a pool that names its agents refuses a misspelled one -----


def test_a_misspelled_agent_is_refused_with_the_closest_name() -> None:
    pool = cp.Pool(cp.nanos(10 * USD), agents={"researcher": cp.AgentPolicy(cap=cp.nanos(USD)), "writer": cp.AgentPolicy()})
    with pytest.raises(cp.UnknownAgentError) as e:
        pool.reserve("reseacher", cp.nanos(5 * USD))
    assert isinstance(e.value, cp.PoolRefusedError)
    assert (e.value.agent, e.value.known, e.value.suggestion) == ("reseacher", ["researcher", "writer"], "researcher")
    assert e.value.code == "unknown_agent"
    text = str(e.value)
    assert 'did you mean "researcher"?' in text and '"writer"' in text
    assert "unknown_agents=AgentPolicy(" in text  # how to allow them, in Python
    assert getattr(pool.reserved, "nanos", pool.reserved) == 0  # the typo ran nothing, uncapped or not


def test_allowing_unknown_agents_is_explicit_and_has_its_own_cap() -> None:
    pool = cp.Pool(cp.nanos(10 * USD), agents={"researcher": cp.AgentPolicy(cap=cp.nanos(USD))}, unknown_agents=cp.AgentPolicy(cap=cp.nanos(2 * USD)))
    pool.reserve("reseacher", cp.nanos(2 * USD))
    with pytest.raises(cp.AgentCapError) as e:
        pool.reserve("reseacher", cp.nanos(1))
    assert getattr(e.value.cap, "nanos", e.value.cap) == 2 * USD


def test_a_pool_that_names_no_agent_still_allows_every_agent() -> None:
    pool = cp.Pool(cp.nanos(10 * USD))
    pool.reserve("anyone", cp.nanos(1))
    pool.reserve("someone-else", cp.nanos(1))


# ----- item 6: a failed connection says where it went and why -----


def test_a_refused_connection_names_the_origin_and_the_os_error_never_the_path_or_key() -> None:
    base = closed_port_url()
    with cp.Client(api_key="plain-test-key-42", base_url=base + "/proxy/SECRET-TOKEN", max_retries=0) as client:
        with pytest.raises(cp.APIConnectionError) as e:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    text = str(e.value)
    assert e.value.code == "connection_error"
    assert text.startswith(f"could not connect to {base}: "), text
    assert "os error" in text  # what the operating system said
    assert "SECRET" not in text and "plain-test-key" not in text and "/proxy" not in text


def test_an_agent_whose_connection_fails_says_where_and_why() -> None:
    base = closed_port_url()
    with cp.Client(api_key="sk-test", base_url=base + "/SECRET", max_retries=0) as client:
        outcome = cp.Agent(client, [], cp.Pool(cp.nanos(USD)), "a", model=MODEL, max_tokens=10).run("Hello")
    assert outcome.status == "failed"
    assert isinstance(outcome.error, cp.APIConnectionError)
    assert str(outcome.error).startswith(f"could not connect to {base}: "), str(outcome.error)
    assert "SECRET" not in str(outcome.error)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_says_the_same() -> None:
    base = closed_port_url()
    async with cp.AsyncClient(api_key="sk-test", base_url=base, max_retries=0) as client:
        with pytest.raises(cp.APIConnectionError) as e:
            await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert str(e.value).startswith(f"could not connect to {base}: ")


# ----- item 9: errors in Python's words, always the package's typed errors -----


def test_an_unknown_model_suggests_the_closest_and_says_how_to_price_it_in_python() -> None:
    with cp.Client(api_key="sk-test", base_url=closed_port_url()) as client:
        with pytest.raises(cp.UnknownModelError) as e:
            client.cost({"model": "claude-hiaku-4-5", "usage": {"input_tokens": 1}})
    text = str(e.value)
    assert e.value.suggestion == "claude-haiku-4-5"
    assert "did you mean `claude-haiku-4-5`?" in text
    assert "price_overrides=" in text and "PriceTable::with_override" not in text
    # The words name the remedy that works.
    prices = {"input": "1", "cache_write_5m": "1.25", "cache_write_1h": "2", "cache_read": "0.10", "output": "5"}
    with cp.Client(api_key="sk-test", price_overrides=[{"model": "claude-hiaku-4-5", "prices": prices}]) as client:
        total = client.cost({"model": "claude-hiaku-4-5", "usage": {"input_tokens": 1_000_000}}).total
        assert getattr(total, "nanos", total) == USD  # $1 per million input tokens


def test_a_configuration_mistake_names_the_argument_not_serde() -> None:
    with pytest.raises(cp.InvalidOptionsError) as e:
        cp.Pool(cp.nanos(USD), agents={"researcher": {"cap": 5}})
    text = str(e.value)
    assert "agents.researcher.cap: expected a cap" in text and "got 5" in text
    for serde_words in ("invalid type", "internally tagged", "line 1", "column"):
        assert serde_words not in text, text
    with pytest.raises(cp.InvalidOptionsError) as e2:
        cp.Pool(cp.nanos(USD), config={"leas_ms": 5})
    assert 'unknown pool option "leas_ms": did you mean "lease_ms"?' in str(e2.value)
    with pytest.raises(cp.InvalidOptionsError) as e3:
        cp.Pool(cp.nanos(USD), config={"lease_ms": "ten"})
    assert 'lease_ms: expected a whole number (0 or more), got the string "ten"' in str(e3.value)
    # Any option the core reads names its field by its path, in the same words.
    client = cp.Client(api_key="sk-test", base_url=closed_port_url())
    with pytest.raises(cp.InvalidOptionsError) as e4:
        cp.Agent(client, [], cp.Pool(cp.nanos(USD)), "a", model=MODEL, max_turns="3").run("Hi")  # type: ignore[arg-type]
    assert 'max_turns: expected a whole number (0 or more), got the string "3"' in str(e4.value), str(e4.value)


@pytest.fixture
def keyed_sim() -> Iterator[str]:
    """A simulator that knows one key, ``sk-right``: any other gets a 401."""
    proc = subprocess.Popen([str(_sim_binary()), "--port", "0", "--keys", "sk-right"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        yield line[len("listening on ") :]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def test_a_401_reads_as_words_not_a_rust_variant(keyed_sim: str) -> None:
    with cp.Client(api_key="sk-wrong", base_url=keyed_sim) as client:
        with pytest.raises(cp.AuthenticationError):
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        outcome = cp.Agent(client, [], cp.Pool(cp.nanos(USD)), "a", model=MODEL, max_tokens=10).run("Hello")
    assert outcome.status == "failed"
    assert isinstance(outcome.error, cp.AuthenticationError)
    text = str(outcome.error) + " " + str(outcome.get("error", ""))
    assert "NotRetryable" not in text and "{ status" not in text, text


@pytest.mark.parametrize(
    "mistake",
    [
        lambda: cp.Pool(cp.nanos(USD)).reserve("a", cp.nanos(1), now_ms=-1),
        lambda: cp.Pool(cp.nanos(USD)).reserve("a", cp.nanos(1), lease_ms=2**70),
        lambda: cp.Pool(cp.nanos(USD)).settle(-1, cp.nanos(1)),
        lambda: cp.Pool(cp.nanos(USD), lease_ms=2**70),
        lambda: cp.Client(api_key="k", max_retries=2**70),
        lambda: cp.Client(api_key="k").cost({"model": MODEL, "usage": {"input_tokens": 2**70}}),
        lambda: cp.Client(api_key="k").cost({"model": MODEL, "usage": {"input_tokens": float("nan")}}),
    ],
)
def test_out_of_range_numbers_raise_a_typed_error_never_a_bare_builtin(mistake: Any) -> None:
    with pytest.raises(cp.CreditpoolError) as e:
        mistake()
    assert type(e.value).__module__.startswith("creditpool"), type(e.value)
    assert not isinstance(e.value, OverflowError)


def test_a_type_hint_without_a_schema_is_a_tool_definition_error() -> None:
    def f(x: complex) -> None:
        """Takes a complex number."""

    with pytest.raises(cp.ToolDefinitionError) as e:
        cp.tool(f)
    assert (e.value.rule, e.value.tool) == ("invalid_schema", "f")
    assert "parameter 'x'" in str(e.value)


# ----- item 11: Toolbox checks as JS does; a restarted pool says what it ignored -----


def test_a_toolbox_refuses_duplicate_names_and_hand_written_definitions() -> None:
    @cp.tool(name="lookup", description="Look a word up.")
    def one(word: str) -> str:
        return word

    @cp.tool(name="lookup", description="Look a word up, again.")
    def two(word: str) -> str:
        return word

    with pytest.raises(cp.ToolDefinitionError) as e:
        cp.Toolbox([one, two])
    assert (e.value.rule, e.value.tool) == ("duplicate_name", "lookup")
    hand_written = {"name": "lookup", "description": "d", "input_schema": {"type": "object"}}
    with pytest.raises(cp.InvalidOptionsError) as e2:
        cp.Toolbox([hand_written])  # type: ignore[list-item]
    assert "@tool" in str(e2.value)


def test_restarting_a_persisted_pool_with_another_limit_warns(tmp_path: Path) -> None:
    first = cp.Pool(cp.nanos(5 * USD), directory=tmp_path, fsync=False)
    first.close()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        again = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, fsync=False)
    try:
        words = [str(w.message) for w in seen if issubclass(w.category, UserWarning)]
        assert any("limit (the pool's is $5.00, given $10.00: change it with set_limit)" in w for w in words), words
        assert getattr(again.limit, "nanos", again.limit) == 5 * USD  # kept, and now said
    finally:
        again.close()
    # The same arguments warn of nothing.
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        cp.Pool(cp.nanos(5 * USD), directory=tmp_path, fsync=False).close()
    assert not [w for w in quiet if "set_limit" in str(w.message)]
