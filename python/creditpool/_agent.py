"""``Agent``: an LLM that calls tools in a loop, drawing on a ``Pool``.

The core's ``AgentRun`` decides everything: the request of each turn, the
reservation before each attempt and the settle or release after it, retries,
which tool calls are valid, waits for the pool's rate limits, and when and
why the run ends. This module only sends HTTP requests, runs the tools the
run names (concurrently: a thread pool in ``run``, ``asyncio.gather`` in
``arun``), and sleeps.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, Union

import httpx2

from . import _creditpool
from ._creditpool import CreditpoolError
from ._money import usd
from ._pool import Pool, amount_nanos
from ._tools import Tool, Toolbox
from ._transport import build_httpx_request, header_pairs, jitter_seed, log, plain, transport_failure
from ._types import Cost, Message, Model, StreamEvent, Usage, event_from_dict

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["Agent", "AgentOutcome", "Turn", "MAX_U64"]

MAX_U64 = (1 << 64) - 1
"""The largest amount the core counts (nano-USD): the limit of an agent's
private pool when none is given."""

Prompt = Union[str, Sequence[Mapping[str, Any]]]


class Turn(Model):
    """One model call of a run."""

    __slots__ = ()

    @property
    def request_id(self) -> str | None:
        """The response's ``request-id``."""
        v = self._data.get("request_id")
        return v if isinstance(v, str) else None

    @property
    def model(self) -> str:
        """The model that answered."""
        return str(self._data.get("model", ""))

    @property
    def stop_reason(self) -> str | None:
        """Why it stopped."""
        v = self._data.get("stop_reason")
        return v if isinstance(v, str) else None

    @property
    def usage(self) -> Usage:
        """Its usage."""
        return Usage(self._data.get("usage") or {})

    @property
    def cost(self) -> Cost:
        """Its cost by component (int nano-USD)."""
        return Cost(self._data.get("cost") or {})

    @property
    def reserved(self) -> int:
        """What was reserved for its last attempt, nano-USD."""
        return int(self._data.get("reserved", 0))

    @property
    def attempts(self) -> int:
        """Attempts made (retries included)."""
        return int(self._data.get("attempts", 0))

    @property
    def tool_calls(self) -> list[str]:
        """The tools it asked for, in order."""
        return [str(t) for t in self._data.get("tool_calls") or []]


class AgentOutcome(Model):
    """How a run ended: the final text, the turns, usage, cost (int nano-USD)
    and its split across tools. ``error`` is the exception the status stands
    for (None when the run ended with an answer); ``raise_for_status()``
    raises it."""

    __slots__ = ("_error",)

    def __init__(self, data: dict[str, Any], error: CreditpoolError | None) -> None:
        """Wraps the core's outcome JSON and the exception of its status."""
        super().__init__(data)
        self._error = error

    @property
    def status(self) -> str:
        """``completed``, ``stopped``, ``max_turns``, ``budget_exhausted``,
        ``pool_refused``, ``failed``, ``invalid`` or ``cancelled``."""
        return str(self._data.get("status", ""))

    @property
    def ok(self) -> bool:
        """Whether the model finished (``completed``)."""
        return self.status == "completed"

    @property
    def error(self) -> CreditpoolError | None:
        """The exception the status stands for: a ``PoolRefusedError``
        subclass, an ``APIError`` subclass, ``MaxTurnsError``,
        ``BudgetExhaustedError`` or ``AgentRunError``; None for ``completed``
        and ``stopped``."""
        return self._error

    def raise_for_status(self) -> "AgentOutcome":
        """Raises ``error`` if there is one; returns the outcome otherwise."""
        if self._error is not None:
            raise self._error
        return self

    @property
    def agent_id(self) -> str:
        """The agent."""
        return str(self._data.get("agent_id", ""))

    @property
    def final_text(self) -> str:
        """The text of the last message from the model (empty without one)."""
        return str(self._data.get("final_text", ""))

    @property
    def final_message(self) -> Message | None:
        """The last message from the model."""
        m = self._data.get("final_message")
        return Message(m) if isinstance(m, dict) else None

    @property
    def stop_reason(self) -> str | None:
        """For ``stopped``: the model's stop reason (``max_tokens``, ``refusal``, ...)."""
        v = self._data.get("reason")
        return v if isinstance(v, str) else None

    @property
    def turns(self) -> list[Turn]:
        """Every model call, in order."""
        return [Turn(t) for t in self._data.get("turns") or []]

    @property
    def total_cost(self) -> int:
        """What the run spent, nano-USD."""
        return int(self._data.get("total_cost", 0))

    @property
    def total_cost_usd(self) -> Decimal:
        """What the run spent, in dollars, exact."""
        return usd(self.total_cost)

    @property
    def usage(self) -> Usage:
        """Tokens by kind over every turn."""
        return Usage(self._data.get("usage") or {})

    @property
    def tool_costs(self) -> dict[str, int]:
        """Cost per tool (definitions, calls and results), largest first, nano-USD."""
        attribution = self._data.get("attribution") or {}
        return {str(name): int(cost) for name, cost in attribution.get("tools") or []}

    @property
    def conversation_cost(self) -> int:
        """What is not charged to a tool, nano-USD."""
        return int((self._data.get("attribution") or {}).get("conversation", 0))

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """The whole conversation, tool results included."""
        return list(self._data.get("transcript") or [])


class Agent:
    """An agent: a model, tools and a pool.

    ``Agent(client, tools, pool, agent_id, model=..., max_tokens=...)``; then
    ``agent.run(prompt)`` with a ``Client`` or ``await agent.arun(prompt)``
    with an ``AsyncClient``. The run reserves each request's worst case in
    ``pool`` for ``agent_id`` before sending it, settles the actual cost (split
    across the tools) when the response arrives, and releases it when the
    attempt fails; a pool refusal ends the run (``status="pool_refused"``),
    a rate limit is waited out. Options: ``system`` and any other request
    parameter (``temperature``, ``tool_choice``, ...); ``max_turns`` (default
    16); ``max_spend`` (the run's own budget, nano-USD); ``stream`` (stream
    each response, ``on_event`` sees its events); ``estimate`` (the core's
    estimate mode, default a true upper bound); ``lease_ms``;
    ``max_concurrency`` (tool calls run at once); ``metadata`` (default
    ``{"user_id": agent_id}``). Without a pool, the agent has a private one
    with no limit.
    """

    def __init__(
        self,
        client: "Client | AsyncClient",
        tools: Toolbox | Iterable[Tool[Any]] | None,
        pool: Pool | None,
        agent_id: str,
        *,
        model: str,
        max_tokens: int = 1024,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        max_turns: int | None = None,
        max_spend: int | Decimal | None = None,
        stream: bool = False,
        estimate: Mapping[str, Any] | None = None,
        lease_ms: int | None = None,
        max_concurrency: int = 8,
        metadata: Mapping[str, Any] | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        **params: Any,
    ) -> None:
        """Configures the agent; see the class documentation."""
        self.client = client
        """The client that sends the requests."""
        box = tools if isinstance(tools, Toolbox) else Toolbox(tools or ())
        self.tools: Toolbox = box
        """The agent's tools."""
        self.pool: Pool = pool if pool is not None else Pool(MAX_U64, pool_id=f"agent-{agent_id}")
        """The pool the agent draws on."""
        self.agent_id = agent_id
        """The agent's name in the pool."""
        self.model = model
        """The model."""
        self.max_tokens = max_tokens
        """``max_tokens`` of every request."""
        self.system = system
        """The system prompt."""
        self.max_turns = max_turns
        """The most model calls per run."""
        self.max_spend = None if max_spend is None else amount_nanos(max_spend, "max_spend")
        """The run's own budget, nano-USD."""
        self.stream = stream
        """Whether responses are streamed."""
        self.estimate = dict(estimate) if estimate is not None else None
        self.lease_ms = lease_ms
        self.max_concurrency = max(1, max_concurrency)
        self.metadata: dict[str, Any] = dict(metadata) if metadata is not None else {"user_id": agent_id}
        self.on_event = on_event
        self.params: dict[str, Any] = dict(params)
        """Other request parameters."""

    def __repr__(self) -> str:
        """The agent's name, model and tools; never the key."""
        return f"Agent({self.agent_id!r}, model={self.model!r}, tools={list(self.tools.tools)!r}, pool={self.pool!r})"

    # ----- the run -----

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        request: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "messages": messages, **self.params}
        if self.tools.definitions:
            request["tools"] = list(self.tools.definitions)
        if self.system is not None:
            request["system"] = self.system
        if self.metadata:
            request["metadata"] = self.metadata
        out: dict[str, Any] = plain(request)
        return out

    def _config(self) -> dict[str, Any]:
        c = self.client
        config: dict[str, Any] = {
            "agent_id": self.agent_id,
            "call": {
                "stream": self.stream,
                "retry": c._retry_policy,
                "idle_timeout_ms": int(c.timeouts.stream_idle * 1000),
                "jitter_seed": jitter_seed(),
            },
        }
        if self.max_turns is not None:
            config["max_turns"] = self.max_turns
        if self.max_spend is not None:
            config["max_spend"] = self.max_spend
        if self.estimate is not None:
            config["estimate"] = self.estimate
        if self.lease_ms is not None:
            config["lease_ms"] = self.lease_ms
        return config

    def _new_run(self, prompt: Prompt) -> _creditpool.AgentRun:
        request = self._request(prompt)
        self.client.prices.check_request(request)
        return _creditpool.AgentRun(self._config(), request, self.client._builder, self.client.prices)

    def _outcome(self, run: _creditpool.AgentRun) -> AgentOutcome:
        data = run.outcome()
        if data is None:
            raise _creditpool.InternalError("the run ended without an outcome")
        error = run.error()
        outcome = AgentOutcome(data, error if isinstance(error, CreditpoolError) else None)
        log.debug("agent %s: %s after %d turns, %d nano-USD", self.agent_id, outcome.status, len(outcome.turns), outcome.total_cost)
        return outcome

    def _emit(self, events: list[dict[str, Any]]) -> None:
        if self.on_event is not None:
            for ev in events:
                self.on_event(event_from_dict(ev))

    def _tool_result(self, block: dict[str, Any]) -> dict[str, Any]:
        return {"tool_use_id": block["tool_use_id"], "content": block.get("content", ""), "is_error": bool(block.get("is_error", False))}

    def _respond(self, call: dict[str, Any]) -> dict[str, Any]:
        tool = self.tools.tools.get(str(call["name"]))
        if tool is None:
            return {"tool_use_id": call["id"], "content": f"No tool named {call['name']!r}.", "is_error": True}
        return self._tool_result(tool.respond(call))

    async def _arespond(self, call: dict[str, Any]) -> dict[str, Any]:
        tool = self.tools.tools.get(str(call["name"]))
        if tool is None:
            return {"tool_use_id": call["id"], "content": f"No tool named {call['name']!r}.", "is_error": True}
        return self._tool_result(await tool.arespond(call))

    def _run_tools(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(calls) <= 1 or self.max_concurrency == 1:
            return [self._respond(c) for c in calls]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(calls), self.max_concurrency)) as ex:
            return list(ex.map(self._respond, calls))

    async def _arun_tools(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.max_concurrency >= len(calls):
            return list(await asyncio.gather(*(self._arespond(c) for c in calls)))
        sem = asyncio.Semaphore(self.max_concurrency)

        async def one(c: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                return await self._arespond(c)

        return list(await asyncio.gather(*(one(c) for c in calls)))

    def run(self, prompt: Prompt) -> AgentOutcome:
        """Runs the agent on a prompt (a string, or a list of messages) with a
        ``Client``, and returns the outcome. Failures of the run (a refusal,
        an API error that outlived its retries, the budget) are in the
        outcome (``error``, ``raise_for_status()``), not raised; errors in
        the caller's own values (a tool definition, the request, an unknown
        model) are raised at once, before anything is spent."""
        from ._client import Client

        client = self.client
        if not isinstance(client, Client):
            raise TypeError("Agent.run needs a Client; use `await agent.arun(...)` with an AsyncClient")
        run = self._new_run(prompt)
        pool = self.pool
        clock = _Clock(pool._clock)
        try:
            while True:
                now = clock.now()
                action = pool._with_native(lambda p: run.next_action(p, now))
                kind = action["type"]
                if kind == "done":
                    break
                if kind == "wait":
                    until = int(action["until_ms"])
                    log.debug("agent %s waits %d ms (%s)", self.agent_id, max(0, until - now), action["reason"])
                    client._sleep(max(0, until - now) / 1000)
                    clock.floor = until
                    continue
                if kind == "call_tools":
                    results = self._run_tools(list(action["calls"]))
                    run.handle_tool_results(results)
                    continue
                self._send(client, run, pool, clock, action["request"])
        except BaseException:
            pool._with_native(lambda p: run.cancel(p, clock.now()))
            raise
        return self._outcome(run)

    def _send(self, client: "Client", run: _creditpool.AgentRun, pool: Pool, clock: "_Clock", http: dict[str, Any]) -> None:
        log.debug("agent %s: %s %s", self.agent_id, http["method"], http["path"])
        try:
            response = client._http.send(build_httpx_request(client._http, client.base_url, http, client.timeouts), stream=True)
        except httpx2.HTTPError as exc:
            failure = transport_failure(exc, in_body=False)[0]
            pool._with_native(lambda p: run.handle_transport_error(p, failure, clock.now()))
            return
        try:
            log.debug("response %d request-id %s", response.status_code, response.headers.get("request-id"))
            how = run.handle_head(response.status_code, header_pairs(response.headers), clock.now())
            if how == "whole":
                body = response.read()
                pool._with_native(lambda p: run.handle_body(p, body, clock.now()))
            else:
                for chunk in response.iter_bytes():
                    self._emit(pool._with_native(lambda p: run.handle_chunk(p, chunk, clock.now())))
                    if not run.is_reading():
                        break
                if run.is_reading():
                    self._emit(pool._with_native(lambda p: run.handle_end(p, clock.now())))
        except httpx2.HTTPError as exc:
            self._body_failed(run, pool, clock, exc)
        finally:
            response.close()

    def _body_failed(self, run: _creditpool.AgentRun, pool: Pool, clock: "_Clock", exc: httpx2.HTTPError) -> None:
        """The body failed: a stream cut short is read as such by the core
        (a cut stream); anything else is a transport failure."""
        if run.deadline() is not None and isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError)):
            self._emit(pool._with_native(lambda p: run.handle_end(p, clock.now())))
        else:
            failure = transport_failure(exc, in_body=True)[0]
            pool._with_native(lambda p: run.handle_transport_error(p, failure, clock.now()))

    async def arun(self, prompt: Prompt) -> AgentOutcome:
        """The async form of ``run``, with an ``AsyncClient``: tool calls of
        one turn run concurrently (``asyncio.gather``; sync tools in worker
        threads)."""
        from ._client import AsyncClient

        client = self.client
        if not isinstance(client, AsyncClient):
            raise TypeError("Agent.arun needs an AsyncClient; use agent.run(...) with a Client")
        run = self._new_run(prompt)
        pool = self.pool
        clock = _Clock(pool._clock)
        try:
            while True:
                now = clock.now()
                action = pool._with_native(lambda p: run.next_action(p, now))
                kind = action["type"]
                if kind == "done":
                    break
                if kind == "wait":
                    until = int(action["until_ms"])
                    log.debug("agent %s waits %d ms (%s)", self.agent_id, max(0, until - now), action["reason"])
                    await client._sleep(max(0, until - now) / 1000)
                    clock.floor = until
                    continue
                if kind == "call_tools":
                    results = await self._arun_tools(list(action["calls"]))
                    run.handle_tool_results(results)
                    continue
                await self._asend(client, run, pool, clock, action["request"])
        except BaseException:
            pool._with_native(lambda p: run.cancel(p, clock.now()))
            raise
        return self._outcome(run)

    async def _asend(self, client: "AsyncClient", run: _creditpool.AgentRun, pool: Pool, clock: "_Clock", http: dict[str, Any]) -> None:
        log.debug("agent %s: %s %s", self.agent_id, http["method"], http["path"])
        try:
            response = await client._http.send(build_httpx_request(client._http, client.base_url, http, client.timeouts), stream=True)
        except httpx2.HTTPError as exc:
            failure = transport_failure(exc, in_body=False)[0]
            pool._with_native(lambda p: run.handle_transport_error(p, failure, clock.now()))
            return
        try:
            log.debug("response %d request-id %s", response.status_code, response.headers.get("request-id"))
            how = run.handle_head(response.status_code, header_pairs(response.headers), clock.now())
            if how == "whole":
                body = await response.aread()
                pool._with_native(lambda p: run.handle_body(p, body, clock.now()))
            else:
                async for chunk in response.aiter_bytes():
                    self._emit(pool._with_native(lambda p: run.handle_chunk(p, chunk, clock.now())))
                    if not run.is_reading():
                        break
                if run.is_reading():
                    self._emit(pool._with_native(lambda p: run.handle_end(p, clock.now())))
        except httpx2.HTTPError as exc:
            self._body_failed(run, pool, clock, exc)
        finally:
            await response.aclose()


class _Clock:
    """The clock a run sees: the pool's (Unix ms), never earlier than the end
    of the last wait (so that a sleep that returns early cannot stall the
    run)."""

    def __init__(self, source: Callable[[], int]) -> None:
        self.source = source
        self.floor = 0

    def now(self) -> int:
        return max(self.source(), self.floor)

