"""``Agent``: an LLM that calls tools in a loop, drawing on a pool store.

The core's ``AgentRun`` decides everything: the request of each turn, the
pool operations around each attempt (reserve, settle or release, lease
renewal), retries, which tool calls are valid, the words the model reads,
waits for the pool's rate limits, and when and why the run ends. This module
plays it with ``_driver`` (the same player as a call): it sends HTTP
requests, applies pool operations to the store, runs the tools the run names
(concurrently: a thread pool in ``run``, ``asyncio.gather`` in ``arun``), and
sleeps.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import inspect
import traceback as _traceback
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, Union

from . import _creditpool
from ._creditpool import CreditpoolError
from ._money import AmountLike, Money, money_of
from ._pool import Pool
from ._driver import ApplyPool, RunTools, Sleep, Step, adrive, drive, internal_error, play
from ._store import AsyncPoolStore, PoolStore
from ._tools import Tool, Toolbox, jsonable
from ._transport import log, now_ms, plain
from ._types import Cost, Message, Model, StreamEvent, Usage, event_from_dict

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["Agent", "AgentOutcome", "ToolFailure", "Turn", "MAX_U64"]

MAX_U64 = (1 << 64) - 1
"""The largest amount the core counts (nano-USD): the limit of an agent's
private pool when none is given."""

Prompt = Union[str, Sequence[Mapping[str, Any]]]

_AGENT_ARGUMENTS = (
    "client", "tools", "pool", "agent_id", "model", "max_tokens", "system", "max_turns", "max_spend", "stream",
    "estimate", "lease_ms", "texts", "max_concurrency", "metadata", "on_event", "tool_error", "container_minutes",
)
"""``Agent``'s own keyword arguments: offered as suggestions for a
misspelled one, which would otherwise be a request parameter."""


class Turn(Model):
    """One model call of a run."""

    __slots__ = ("_failures",)

    def __init__(self, data: dict[str, Any], failures: Sequence["ToolFailure"] = ()) -> None:
        """Wraps the core's turn record and the failures of the calls it asked for."""
        super().__init__(data)
        by_id = {f.call_id: f for f in failures}
        # The core's record says which calls of this turn failed; the
        # exception and its traceback are kept here, beside it.
        self._failures = [by_id[str(r.get("call_id"))] for r in data.get("tool_failures") or [] if str(r.get("call_id")) in by_id]

    @property
    def tool_failures(self) -> list["ToolFailure"]:
        """The tools this turn asked for that raised, in the calls' order,
        each with its exception and traceback (the model read only the
        words of ``texts["tool_failed"]``, which by default do not show the
        error)."""
        return list(self._failures)

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
    def reserved(self) -> Money:
        """What was reserved for its last attempt."""
        return Money(nanos=int(self._data.get("reserved", 0)))

    @property
    def attempts(self) -> int:
        """Attempts made (retries included)."""
        return int(self._data.get("attempts", 0))

    @property
    def tool_calls(self) -> list[str]:
        """The tools it asked for, in order."""
        return [str(t) for t in self._data.get("tool_calls") or []]


@dataclasses.dataclass(frozen=True)
class ToolFailure:
    """A tool that raised during a run: kept with its traceback (the model
    reads only the words of ``texts["tool_failed"]``, which by default do not
    show the error)."""

    tool: str
    """The tool's name."""
    call_id: str
    """The ``tool_use`` block's ID."""
    exception: BaseException
    """What it raised (with ``__traceback__``)."""
    traceback: str
    """The formatted traceback."""


class AgentOutcome(Model):
    """How a run ended: the final text, the turns, usage, cost (int nano-USD)
    and its split across tools. ``error`` is the exception the status stands
    for (None when the run ended with an answer); ``raise_for_status()``
    raises it."""

    __slots__ = ("_error", "_tool_failures")

    def __init__(self, data: dict[str, Any], error: CreditpoolError | None, tool_failures: Sequence[ToolFailure] = ()) -> None:
        """Wraps the core's outcome JSON and the exception of its status."""
        super().__init__(data)
        self._error = error
        self._tool_failures = list(tool_failures)

    @property
    def tool_failures(self) -> list[ToolFailure]:
        """Every tool that raised during the run, in order, with its
        exception and traceback (also logged on the ``creditpool`` logger;
        each is on the turn that asked for it too: ``turns[i].tool_failures``)."""
        return list(self._tool_failures)

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
        """Every model call, in order; each keeps the tools it asked for
        that raised (``turn.tool_failures``)."""
        return [Turn(t, self._tool_failures) for t in self._data.get("turns") or []]

    @property
    def total_cost(self) -> Money:
        """What the run spent (``str()`` shows ``$0.0042``)."""
        return Money(nanos=int(self._data.get("total_cost", 0)))

    @property
    def total_cost_usd(self) -> Decimal:
        """What the run spent, in dollars, exact."""
        return self.total_cost.dollars

    @property
    def usage(self) -> Usage:
        """Tokens by kind over every turn."""
        return Usage(self._data.get("usage") or {})

    @property
    def tool_costs(self) -> dict[str, Money]:
        """Cost per tool (definitions, calls and results), largest first."""
        attribution = self._data.get("attribution") or {}
        return {str(name): Money(nanos=int(cost)) for name, cost in attribution.get("tools") or []}

    @property
    def conversation_cost(self) -> Money:
        """What is not charged to a tool."""
        return Money(nanos=int((self._data.get("attribution") or {}).get("conversation", 0)))

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """The whole conversation, tool results included."""
        return list(self._data.get("transcript") or [])


class Agent:
    """An agent: a model, tools and a pool store.

    ``Agent(client, tools, pool, agent_id, model=...)``; then
    ``agent.run(prompt)`` with a ``Client`` or ``await agent.arun(prompt)``
    with an ``AsyncClient``. The core's ``AgentRun`` reserves each request's
    worst case for ``agent_id`` before sending it, settles the actual cost
    (split across the tools) when the response arrives, releases it when the
    attempt fails, and renews its lease while a response is read; the agent
    applies those operations to ``pool`` (a ``Pool``, or any ``PoolStore``).
    A pool refusal ends the run (``status="pool_refused"``), a rate limit is
    waited out. Options: ``max_tokens``, ``system`` and any other request
    parameter (``temperature``, ``tool_choice``, ...; a name the Messages API
    does not have raises ``UnknownParameterError`` here, and fields newer than
    this library go in ``extra_body={...}``); ``max_turns``;
    ``max_spend`` (the run's own budget, a ``Money``: ``usd("0.10")``); ``stream`` (``on_event``
    sees the events of streamed responses); ``estimate`` (the core's
    estimate mode); ``lease_ms``; ``container_minutes`` (code execution
    container time counted per request whose code execution is billed by
    time: default 5, the billing minimum; see docs/PYTHON.md); ``texts`` (the words the model reads when a
    tool cannot answer: the core's ``AgentTexts``; by default a tool that
    raises is reported to the model without the exception's text, which may
    hold a secret: ``texts={"tool_failed": 'The tool "{name}" failed:
    {error}'}`` shows it); ``tool_error`` (formats a tool's exception as the
    ``{error}`` text, default ``str(exc)``); a tool that raises is logged on
    the ``creditpool`` logger (warning, with its traceback) and kept in
    ``outcome.tool_failures``; ``max_concurrency`` (tool
    calls run at once); ``metadata`` (default ``{"user_id": agent_id}``).
    Options left unset take the core's defaults (``AgentConfig``:
    ``max_tokens`` 1024, streaming on, 16 turns, a true upper bound).
    Without a pool, the agent has a private ``Pool`` with no limit.
    """

    def __init__(
        self,
        client: "Client | AsyncClient",
        tools: Toolbox | Iterable[Tool[Any]] | None,
        pool: "Pool | PoolStore | AsyncPoolStore | None",
        agent_id: str,
        *,
        model: str,
        max_tokens: int | None = None,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        max_turns: int | None = None,
        max_spend: AmountLike | None = None,
        stream: bool | None = None,
        estimate: Mapping[str, Any] | None = None,
        lease_ms: int | None = None,
        texts: Mapping[str, str] | None = None,
        max_concurrency: int = 8,
        metadata: Mapping[str, Any] | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        tool_error: Callable[[BaseException], str] | None = None,
        container_minutes: int | None = None,
        **params: Any,
    ) -> None:
        """Configures the agent; see the class documentation."""
        # Other keywords are request parameters: the core refuses a name the
        # Messages API does not have (``UnknownParameterError``, suggesting
        # the closest parameter or argument of ``Agent``) before anything is
        # spent; ``extra_body={...}`` sends newer fields as given.
        _creditpool.check_request_params(list(params), list(_AGENT_ARGUMENTS))
        self.client = client
        """The client that sends the requests."""
        box = tools if isinstance(tools, Toolbox) else Toolbox(tools or ())
        self.tools: Toolbox = box
        """The agent's tools."""
        self.pool: Pool | PoolStore | AsyncPoolStore = pool if pool is not None else Pool(Money.MAX, pool_id=f"agent-{agent_id}")
        """The pool store the agent draws on."""
        self.agent_id = agent_id
        """The agent's name in the pool."""
        self.model = model
        """The model."""
        self.max_tokens = max_tokens
        """``max_tokens`` of every request (None: the core's default)."""
        self.system = system
        """The system prompt."""
        self.max_turns = max_turns
        """The most model calls per run (None: the core's default)."""
        self.max_spend: Money | None = None if max_spend is None else money_of(max_spend, "max_spend")
        """The run's own budget."""
        self.stream = stream
        """Whether responses are streamed (None: the core's default)."""
        self.estimate = dict(estimate) if estimate is not None else None
        self.lease_ms = lease_ms
        self.container_minutes = container_minutes
        """Minutes of code execution container time counted per container-billed request (None: 5)."""
        self.texts = dict(texts) if texts is not None else None
        self.max_concurrency = max(1, max_concurrency)
        self.metadata: dict[str, Any] = dict(metadata) if metadata is not None else {"user_id": agent_id}
        self.on_event = on_event
        self.tool_error = tool_error
        """Formats a tool's exception as the ``{error}`` text (default ``str``)."""
        self.params: dict[str, Any] = dict(params)
        """Other request parameters."""

    def __repr__(self) -> str:
        """The agent's name, model and tools; never the key."""
        return f"Agent({self.agent_id!r}, model={self.model!r}, tools={list(self.tools.tools)!r}, pool={self.pool!r})"

    # ----- the run -----

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        request: dict[str, Any] = {"model": self.model, "messages": messages, **self.params}
        if self.max_tokens is not None:
            request["max_tokens"] = self.max_tokens
        if self.tools.definitions:
            request["tools"] = list(self.tools.definitions)
        if self.system is not None:
            request["system"] = self.system
        if self.metadata:
            request["metadata"] = self.metadata
        out: dict[str, Any] = plain(request)
        return out

    def _config(self) -> dict[str, Any]:
        """The core's ``AgentConfig``: what was set, nothing more."""
        config: dict[str, Any] = {"agent_id": self.agent_id, "call": self.client._call_options(self.stream)}
        if self.max_turns is not None:
            config["max_turns"] = self.max_turns
        if self.max_spend is not None:
            config["max_spend"] = self.max_spend.nanos
        if self.estimate is not None:
            config["estimate"] = self.estimate
        if self.lease_ms is not None:
            config["lease_ms"] = self.lease_ms
        if self.texts is not None:
            config["texts"] = self.texts
        if self.container_minutes is not None:
            config["container_minutes"] = self.container_minutes
        return config

    def _new_run(self, prompt: Prompt) -> _creditpool.AgentRun:
        return _creditpool.AgentRun(self._config(), self._request(prompt), self.client._builder, self.client.prices)

    def _clock(self) -> Callable[[], int]:
        """The run's clock: the pool's when it is a ``Pool``."""
        return self.pool._clock if isinstance(self.pool, Pool) else now_ms

    def _outcome(self, run: _creditpool.AgentRun, failures: Sequence[ToolFailure] = ()) -> AgentOutcome:
        data = run.outcome()
        if data is None:
            raise internal_error("the run ended without an outcome")
        error = run.error()
        outcome = AgentOutcome(data, error if isinstance(error, CreditpoolError) else None, failures)
        log.debug("agent %s: %s after %d turns, %s", self.agent_id, outcome.status, len(outcome.turns), outcome.total_cost)
        return outcome

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event_from_dict(event))

    def _failed(self, call: dict[str, Any], e: Exception, failures: list[ToolFailure]) -> Any:
        """A tool that raised: logged with its traceback, kept for the
        outcome, and reported to the core as ``{"failed": text}`` (the model
        reads the text only if ``texts["tool_failed"]`` asks for ``{error}``)."""
        name = str(call["name"])
        log.warning("agent %s: tool %r raised %s", self.agent_id, name, type(e).__name__, exc_info=e)
        trace = "".join(_traceback.format_exception(type(e), e, e.__traceback__))
        failures.append(ToolFailure(tool=name, call_id=str(call.get("id", "")), exception=e, traceback=trace))
        try:
            text = self.tool_error(e) if self.tool_error is not None else str(e)
        except Exception:  # a formatter that fails shows nothing of the error
            log.exception("agent %s: tool_error formatter raised", self.agent_id)
            text = ""
        return {"failed": str(text) or type(e).__name__}

    def _output(self, call: dict[str, Any], failures: list[ToolFailure]) -> Any:
        """What a tool did, as the core's ``ToolOutput``: its return value,
        the text of what it raised, or ``"unknown"`` without a function."""
        tool = self.tools.tools.get(str(call["name"]))
        if tool is None:
            return "unknown"
        try:
            return {"value": jsonable(tool.run(call["input"]))}
        except Exception as e:  # the model reads the failure and may try again
            return self._failed(call, e, failures)

    async def _aoutput(self, call: dict[str, Any], failures: list[ToolFailure]) -> Any:
        tool = self.tools.tools.get(str(call["name"]))
        if tool is None:
            return "unknown"
        try:
            return {"value": jsonable(await tool.arun(call["input"]))}
        except Exception as e:  # the model reads the failure and may try again
            return self._failed(call, e, failures)

    def _run_tools(self, run: _creditpool.AgentRun, calls: list[dict[str, Any]], failures: list[ToolFailure]) -> list[dict[str, Any]]:
        if len(calls) <= 1 or self.max_concurrency == 1:
            outputs = [self._output(c, failures) for c in calls]
        else:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(calls), self.max_concurrency)) as ex:
                outputs = list(ex.map(lambda c: self._output(c, failures), calls))
        return [run.tool_result(c, o) for c, o in zip(calls, outputs)]

    async def _arun_tools(self, run: _creditpool.AgentRun, calls: list[dict[str, Any]], failures: list[ToolFailure]) -> list[dict[str, Any]]:
        sem = asyncio.Semaphore(self.max_concurrency)

        async def one(c: dict[str, Any]) -> Any:
            async with sem:
                return await self._aoutput(c, failures)

        outputs = await asyncio.gather(*(one(c) for c in calls))
        return [run.tool_result(c, o) for c, o in zip(calls, outputs)]

    def _apply(self, op: dict[str, Any]) -> dict[str, Any]:
        result = self.pool.apply(op)
        if not isinstance(result, dict):
            close = getattr(result, "close", None)
            if callable(close):
                close()  # an unawaited coroutine
            raise TypeError("an AsyncPoolStore needs `await agent.arun(...)`")
        return result

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
        clock = self._clock()
        failures: list[ToolFailure] = []

        def other(step: Step) -> Any:
            if isinstance(step, Sleep):
                client._sleep(step.seconds)
                return None
            if isinstance(step, ApplyPool):
                return self._apply(step.op)
            if isinstance(step, RunTools):
                return self._run_tools(run, step.calls, failures)
            raise internal_error(f"unexpected step {step!r}")

        try:
            for event in drive(client, play(run, clock), other):
                self._emit(event)
        except BaseException:
            self._cancel(run, clock)
            raise
        return self._outcome(run, failures)

    async def arun(self, prompt: Prompt) -> AgentOutcome:
        """The async form of ``run``, with an ``AsyncClient``: tool calls of
        one turn run concurrently (``asyncio.gather``; sync tools in worker
        threads), and an ``AsyncPoolStore`` is awaited."""
        from ._client import AsyncClient

        client = self.client
        if not isinstance(client, AsyncClient):
            raise TypeError("Agent.arun needs an AsyncClient; use agent.run(...) with a Client")
        run = self._new_run(prompt)
        clock = self._clock()
        failures: list[ToolFailure] = []

        async def other(step: Step) -> Any:
            if isinstance(step, Sleep):
                await client._sleep(step.seconds)
                return None
            if isinstance(step, ApplyPool):
                result = self.pool.apply(step.op)
                return await result if inspect.isawaitable(result) else result
            if isinstance(step, RunTools):
                return await self._arun_tools(run, step.calls, failures)
            raise internal_error(f"unexpected step {step!r}")

        try:
            async for event in adrive(client, play(run, clock), other):
                self._emit(event)
        except BaseException:
            await self._acancel(run, clock)
            raise
        return self._outcome(run, failures)

    def _cancel(self, run: _creditpool.AgentRun, clock: Callable[[], int]) -> None:
        """Cancels the run and applies what it asks (the release of a held
        reservation) until it is done."""
        run.cancel(clock())
        try:
            for _ in range(16):
                action = run.next_action(clock())
                if action["type"] != "pool":
                    return
                run.handle_pool(self._apply(action["op"]), clock())
        except Exception:  # the original exception matters more
            log.exception("agent %s: releasing the reservation of a cancelled run failed", self.agent_id)

    async def _acancel(self, run: _creditpool.AgentRun, clock: Callable[[], int]) -> None:
        run.cancel(clock())
        try:
            for _ in range(16):
                action = run.next_action(clock())
                if action["type"] != "pool":
                    return
                result = self.pool.apply(action["op"])
                run.handle_pool(await result if inspect.isawaitable(result) else result, clock())
        except Exception:  # the original exception matters more
            log.exception("agent %s: releasing the reservation of a cancelled run failed", self.agent_id)


