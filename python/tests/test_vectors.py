"""Every file in ``tests/vectors/``, for every kind the Rust suite runs, checked
as the Rust runners (``crates/creditpool-core/tests/vectors_<kind>.rs``) check
it, with the behaviour coming from the core through the binding's public
functions.

A kind found in the files without a runner here fails
``test_every_kind_has_a_runner``; nothing is skipped silently.
``EXPECTED_MISSING`` would name, with a reason, a kind whose core API the
binding does not expose yet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable

import pytest

import creditpool
from creditpool import _creditpool as cp
from money_vectors import check_money
from vectorlib import MASK64, Case, Lcg, check_meter, json_diff, json_subset_diff, kinds_in_files, load_kind, strict_diff

EXPECTED_MISSING: dict[str, str] = {}
"""Kinds whose core API the binding does not expose yet, each with why."""


def check_build_request(case: Case) -> str | None:
    """``RequestBuilder`` (``vectors_build_request.rs``)."""
    inp = case.input
    try:
        builder = cp.RequestBuilder(inp.get("api_key") or "", inp.get("options"))
        if inp.get("endpoint") == "count_tokens":
            http = builder.count_tokens(inp.get("request"))
        else:
            http = builder.messages(inp.get("request"), bool(inp.get("stream") or False))
    except cp.InvalidOptionsError:
        actual: Any = {"error": "invalid_options"}
    except cp.RequestBuildError as e:
        actual = {"error": e.kind}
    else:
        actual = {
            "method": http["method"],
            "path": http["path"],
            "headers": {k: v for k, v in http["headers"]},
            "body": json.loads(http["body"]),
        }
    return json_diff("", actual, case.expected)


def _stream_error_kind(e: cp.CreditpoolError) -> str:
    if isinstance(e, cp.APIError):
        return "api"
    if isinstance(e, cp.StreamIncompleteError):
        return "incomplete"
    if isinstance(e, cp.StreamProtocolError):
        return str(e.reason)
    if isinstance(e, cp.StreamEventTooLargeError):
        return "decode"
    return "other"


_Outcome = tuple[list[str], tuple[str, Any]]


def _accumulate(chunks: list[bytes]) -> _Outcome:
    stream = cp.MessageStream()
    types: list[str] = []
    failure: cp.CreditpoolError | None = None
    for chunk in chunks:
        stream.feed(chunk)
        try:
            while (ev := stream.next_event()) is not None:
                types.append(str(ev.get("type", "")))
        except cp.CreditpoolError as e:
            failure = e
            break
    if failure is None:
        stream.end_of_input()
        try:
            while (ev := stream.next_event()) is not None:
                types.append(str(ev.get("type", "")))
        except cp.CreditpoolError as e:
            failure = e
    if failure is None:
        try:
            done = stream.finish()
            return types, ("ok", {"message": done["message"], "tool_input_issues": done["tool_input_issues"]})
        except cp.CreditpoolError as e:
            failure = e
    return types, ("err", (_stream_error_kind(failure), getattr(failure, "partial", None)))


def _drop_paths(value: Any, paths: list[str]) -> None:
    for p in paths:
        parent_path, _, last = p.rpartition(".")
        node = value
        for part in parent_path.split(".") if parent_path else []:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)


def _splits(length: int, seed: int, n: int) -> list[int]:
    x = (seed * 6364136223846793005 + 1442695040888963407) & MASK64
    cuts = []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK64
        cuts.append((x >> 33) % max(length, 1))
    return sorted(set(cuts))


def check_sse_accumulate(case: Case) -> str | None:
    """``MessageStream`` (``vectors_sse_accumulate.rs``)."""
    sdk_drops: list[str] = list(case.meta.get("sdk_drops") or [])
    sse = str(case.input["sse"]).encode("utf-8")
    types, result = _accumulate([sse])
    expected = case.expected

    def check(types: list[str], result: tuple[str, Any]) -> str | None:
        if "event_types" in expected:
            ours = [t for t in types if t != "ping"]
            et = list(expected["event_types"])
            if len(ours) == len(et) + 1 and ours[-1] == "message_stop":
                ours.pop()
            if ours != et:
                return f"event types {ours} != expected {et}"
        if "creditpool" in expected:
            if result[0] != "ok":
                return f"expected a message with {expected['creditpool']}, got an error"
            return json_subset_diff("tool_input_issues", result[1]["tool_input_issues"], expected["creditpool"]["tool_input_issues"])
        want_msg = expected.get("message")
        want_err = expected.get("error")
        if result[0] == "ok" and want_msg is not None:
            msg = json.loads(json.dumps(result[1]["message"]))
            want = json.loads(json.dumps(want_msg))
            _drop_paths(msg, sdk_drops)
            _drop_paths(want, sdk_drops)
            return json_diff("message", msg, want)
        if result[0] == "err" and want_err is not None:
            kind = result[1][0]
            w = want_err.get("kind") if isinstance(want_err, dict) else None
            return None if w is None or w == kind else f"error kind {kind} != expected {w}"
        if result[0] == "ok" and want_err is not None:
            return f"expected error {want_err}, got a message"
        if result[0] == "err" and want_msg is not None:
            return f"expected a message, got error {result[1][0]}"
        return "vector has neither message nor error"

    d = check(types, result)
    if d is not None:
        return d
    for seed in range(24):
        cuts = _splits(len(sse), seed, 1 + seed % 12)
        chunks = []
        start = 0
        for c in cuts:
            chunks.append(sse[start:c])
            start = c
        chunks.append(sse[start:])
        t2, r2 = _accumulate(chunks)
        if t2 != types or r2 != result:
            return f"split at seed {seed} differs: {t2}"
    return None


def _decode(limit: int | None, chunks: list[bytes]) -> dict[str, Any]:
    dec = cp.SseDecoder(limit)
    events: list[dict[str, Any]] = []

    def error(e: cp.CreditpoolError) -> dict[str, Any]:
        if isinstance(e, cp.StreamEventTooLargeError):
            return {"events": events, "error": "event_too_large"}
        if isinstance(e, cp.StreamIncompleteError):
            return {"events": events, "finish": "mid_event"}
        return {"events": events, "error": f"unexpected {e!r}"}

    try:
        for chunk in chunks:
            dec.feed(chunk)
            while (ev := dec.next_event()) is not None:
                events.append(ev)
        while (ev := dec.finish()) is not None:
            events.append(ev)
    except cp.CreditpoolError as e:
        return error(e)
    return {"events": events, "finish": "clean"}


def check_sse_decode(case: Case) -> str | None:
    """``SseDecoder`` (``vectors_sse_decode.rs``): the given chunking, one
    chunk, one byte at a time, every split for short streams, seeded random
    splits."""
    inp = case.input
    if "chunks" in inp:
        chunks = [str(c).encode("utf-8") for c in inp["chunks"]]
    else:
        chunks = [base64.b64decode(c) for c in inp["chunks_b64"]]
    limit = inp.get("limit")

    def check(actual: dict[str, Any], how: str) -> str | None:
        if "events" not in case.expected:
            actual = {k: v for k, v in actual.items() if k != "events"}
        d = json_diff("", actual, case.expected)
        return None if d is None else f"{how}: {d}"

    stream = b"".join(chunks)
    runs: list[tuple[str, list[bytes]]] = [("as given", chunks), ("one chunk", [stream]), ("one byte at a time", [stream[i : i + 1] for i in range(len(stream))])]
    if len(stream) <= 512:
        runs += [(f"split at {k}", [stream[:k], stream[k:]]) for k in range(len(stream) + 1)]
    rng = Lcg(0x5EED ^ len(stream))
    for rnd in range(200):
        parts = 2 + rng.below(12)
        cuts = sorted(rng.below(len(stream) + 1) for _ in range(parts - 1))
        pieces = []
        at = 0
        for c in cuts + [len(stream)]:
            pieces.append(stream[at:c])
            at = c
        runs.append((f"random split round {rnd}", pieces))
    for how, pieces in runs:
        d = check(_decode(limit, pieces), how)
        if d is not None:
            return d
    return None


def check_parse_response(case: Case) -> str | None:
    """``parse_message`` / ``parse_count_tokens`` (``vectors_parse_response.rs``)."""
    inp = case.input
    status = int(inp["status"])
    headers = [tuple(h) for h in inp["headers"]]
    body = str(inp["body"]).encode("utf-8")
    max_body = inp.get("max_body_bytes")
    endpoint = inp.get("endpoint") or "messages"
    message = ""
    try:
        if endpoint == "messages":
            actual: Any = {"message": cp.parse_message(status, headers, body, max_body)}
        elif endpoint == "count_tokens":
            actual = {"input_tokens": cp.parse_count_tokens(status, headers, body, max_body)}
        else:
            return f"unknown endpoint {endpoint!r}"
    except cp.APIError as e:
        actual = {"error": {"kind": "api", "type": e.error_type, "status": e.status, "request_id": e.request_id}}
        message = e.message or ""
    except cp.ResponseParseError as e:
        actual = {"error": {"kind": "parse", "type": e.reason}}
        message = str(e)
    expected = json.loads(json.dumps(case.expected))
    if isinstance(expected.get("error"), dict) and isinstance(actual.get("error"), dict):
        contains = expected["error"].pop("message_contains", None)
        if not isinstance(contains, str):
            return "expected.error needs message_contains"
        if contains not in message:
            return f"message {message!r} does not contain {contains!r}"
    return json_diff("", actual, expected)


def check_rate_limit_headers(case: Case) -> str | None:
    """``rate_limit_info`` (``vectors_rate_limit_headers.rs``)."""
    headers = [tuple(h) for h in case.input["headers"]]
    return json_diff("", cp.rate_limit_info(headers, int(case.input["now_ms"])), case.expected)


def check_retry_decision(case: Case) -> str | None:
    """``RetryPolicy.decide`` (``vectors_retry_decision.rs``)."""
    inp = case.input
    policy = cp.RetryPolicy(inp["policy"]) if "policy" in inp else cp.RetryPolicy()
    headers = inp.get("headers")
    hs = None if headers is None else [tuple(h) for h in headers]
    decision = policy.decide(int(inp["attempt"]), inp["failure"], hs, int(inp["jitter_seed"]), int(inp["now_ms"]))
    return json_diff("", decision, case.expected)


def check_partial_json(case: Case) -> str | None:
    """``parse_partial_json`` (``vectors_partial_json.rs``)."""
    text = str(case.input["text"])
    try:
        value, complete = cp.parse_partial_json(text)
        actual: Any = {"value": value, "complete": complete}
    except cp.PartialJsonError as e:
        actual = {"error": e.kind}
    d = strict_diff("", actual, case.expected)
    return None if d is None else f"{d}\n  input: {text!r}\n  actual: {actual!r}"


def check_tool_definition(case: Case) -> str | None:
    """``check_tool`` / ``check_tools`` (``vectors_tool_definition.rs``)."""
    inp = case.input
    try:
        if "tool" in inp:
            cp.check_tool(inp["tool"])
        elif "tools" in inp:
            cp.check_tools(inp["tools"])
        else:
            return "input has neither `tool` nor `tools`"
        actual: Any = {"ok": True}
    except cp.InvalidOptionsError as e:
        return f"input does not parse: {e}"
    except cp.ToolDefinitionError as e:
        details = e.details or {}
        wanted = case.expected.get("error") if isinstance(case.expected.get("error"), dict) else None
        shown = {k: v for k, v in details.items() if wanted is None or k in wanted}
        actual = {"error": shown}
        if details.get("message") is not None and details.get("message") != str(e):
            return "the error's JSON message differs from its text"
    return json_diff("", actual, case.expected)


def check_tool_input(case: Case) -> str | None:
    """``ToolSet(...).check_call`` (``vectors_tool_input.rs``)."""
    inp = case.input
    try:
        tools = cp.ToolSet(inp["tools"])
    except cp.CreditpoolError as e:
        return f"the tools do not pass their checks: {e}"
    truncated = bool(inp.get("truncated") or False)
    wanted = case.expected.get("error")
    try:
        tools.check_call(inp["call"], truncated)
    except cp.ToolInputInvalidError as e:
        if not isinstance(wanted, dict):
            return f"expected {case.expected}, got error {e.details}"
        actual = dict(e.details or {})
        if isinstance(actual.get("errors"), list):
            actual["paths"] = [v["path"] for v in actual["errors"]]
        text = e.tool_result_text or ""
        for s in wanted.get("text_contains") or []:
            if s not in text:
                return f"tool result text lacks {s!r}:\n{text}"
        tr = getattr(e, "tool_result", None)
        if not (isinstance(tr, dict) and tr.get("is_error") is True and tr.get("tool_use_id") == inp["call"]["id"]):
            return f"tool_result block is wrong: {tr!r}"
        shown = {k: actual.get(k) for k in wanted if k != "text_contains"}
        exp = {k: v for k, v in wanted.items() if k != "text_contains"}
        return json_diff("error", shown, exp)
    if isinstance(wanted, dict):
        return f"expected error {wanted}, got ok"
    return json_diff("", {"ok": True}, case.expected)


def _pricing_error_json(e: cp.PricingError) -> dict[str, Any]:
    v: dict[str, Any] = {"kind": e.kind}
    if isinstance(e, (cp.UnknownModelError, cp.UnpricedModelError)) or e.kind == "unsupported_usage":
        v["model"] = e.model
    elif isinstance(e, cp.InvalidPriceError):
        v["value"] = e.value
    return v


def check_cost(case: Case) -> str | None:
    """``PriceTable.cost`` (``vectors_cost.rs``)."""
    inp = case.input
    try:
        table = cp.PriceTable(inp.get("overrides") or [])
        c = table.cost(str(inp["model"]), inp["usage"], inp.get("options"))
        actual: Any = {k: c[k] for k in ("input", "cache_write_5m", "cache_write_1h", "cache_read", "output", "web_search", "total", "long_context")}
        # Container time, only when counted (as vectors_cost.rs).
        if c.get("container_minutes", 0) > 0:
            actual.update(code_execution=c["code_execution"], container_minutes=c["container_minutes"])
        if c.get("estimated"):
            actual["estimated"] = True
    except cp.PricingError as e:
        actual = {"error": _pricing_error_json(e)}
    except cp.InvalidOptionsError as e:
        # A `container_minutes` out of range: bad options, with the pricing kind.
        if e.code != "invalid_container_minutes":
            raise
        actual = {"error": {"kind": getattr(e, "kind", None)}}
    return json_diff("$", actual, case.expected)


def check_worst_case(case: Case) -> str | None:
    """``PriceTable.worst_case`` (``vectors_worst_case.rs``)."""
    inp = case.input
    try:
        table = cp.PriceTable(inp.get("overrides") or [])
        e = table.worst_case(inp["request"], int(inp["body_len"]), inp.get("mode"))
        if e["may_overshoot"] and not e["notes"]:
            return "an estimate that may overshoot must say why"
        actual: Any = {k: e[k] for k in ("input_tokens_bound", "output_tokens_bound", "cost", "may_overshoot")}
        # Container time, only when assumed (as vectors_worst_case.rs).
        if e["container_minutes"] > 0:
            actual.update(container_minutes=e["container_minutes"], container_cost=e["container_cost"])
    except cp.PricingError as err:
        actual = {"error": _pricing_error_json(err)}
    return json_diff("$", actual, case.expected)


def check_capability_check(case: Case) -> str | None:
    """``check_capabilities`` (``vectors_capability_check.rs``)."""
    try:
        cp.check_capabilities(case.input["request"])
        actual: Any = {"ok": True}
    except cp.CapabilityError as e:
        err: dict[str, Any] = {"kind": e.kind, "model": e.model}
        details = e.details or {}
        if e.kind == "sampling_parameter":
            err["parameter"] = details.get("parameter")
        if e.kind == "forced_tool_use":
            err["tool_choice"] = details.get("tool_choice")
        actual = {"error": err, "message": str(e)}
    return json_diff("$", actual, case.expected)


class _Driven:
    """A ``MessagesCall`` or an ``AgentRun`` as the scripted attempts drive
    it (``play_attempt`` of ``crates/creditpool-core/tests/common``): for a
    run, every pool operation ``poll_pool`` asks for after each chunk and
    each ``handle_timeout`` is applied to the pool and recorded."""

    def __init__(self, machine: cp.MessagesCall | cp.AgentRun, pool: cp.Pool | None = None, ops: list[Any] | None = None) -> None:
        self.m = machine
        self.pool = pool
        self.ops = ops if ops is not None else []

    def poll(self, now: int) -> None:
        if isinstance(self.m, cp.AgentRun) and self.pool is not None:
            for _ in range(100):
                op = self.m.poll_pool(now)
                if op is None:
                    return
                self.ops.append(op["op"])
                self.m.handle_pool(self.pool.apply(op), now)

    def timeout(self, now: int) -> None:
        self.m.handle_timeout(now)
        self.poll(now)


def _play_attempt(d: _Driven, a: dict[str, Any], now: int) -> int:
    """Plays one scripted attempt (tests/vectors/README.md, messages_call);
    returns the clock after it."""
    m = d.m
    if "transport_error" in a:
        m.handle_transport_error(a["transport_error"], now)
        return now
    if a.get("no_head") is True:
        for _ in range(100):
            deadline = m.deadline()
            if deadline is None:
                break
            now = deadline
            d.timeout(now)
        return now
    chunks = [str(c) for c in a["chunks"]] if "chunks" in a else ([str(a["body"])] if "body" in a else [])
    how = m.handle_head(int(a["status"]), [tuple(h) for h in a.get("headers") or []], now)
    if how == "whole":
        m.handle_body("".join(chunks).encode(), now)
        return now
    for chunk in chunks:
        m.handle_chunk(chunk.encode(), now)
        d.poll(now)
        if not m.is_reading():
            break
    if m.is_reading():
        if a.get("end") is False:
            for _ in range(100):
                if not m.is_reading():
                    break
                deadline = m.deadline()
                assert deadline is not None, "a stream without a deadline"
                now = deadline
                d.timeout(now)
        elif a.get("reset") is True:
            m.handle_transport_error({"type": "connection"}, now)
        else:
            m.handle_end(now)
    return now


def _notice(retry: Any) -> Any:
    """A wait's ``retry`` event as the vectors record it: ``attempt``,
    ``delay_ms`` and ``code`` of the core's ``RetryNotice``."""
    assert retry.get("type") == "stream_retry" and isinstance(retry.get("message"), str), retry
    return {k: retry[k] for k in ("attempt", "delay_ms", "code")}


def _error_json(e: cp.CreditpoolError) -> dict[str, Any]:
    """A raised error as the vectors' ``result.error``: the class raised and
    its ``code`` are the exception's own."""
    if isinstance(e, cp.APIError):
        err: dict[str, Any] = {"kind": "api", "type": e.error_type}
    elif isinstance(e, cp.StreamError):
        err = {"kind": "stream"}
    elif isinstance(e, cp.ResponseParseError):
        err = {"kind": "parse"}
    elif isinstance(e, cp.APIConnectionError):
        err = {"kind": "transport"}
    else:
        err = {"kind": "other"}
    err["attempts"] = e.attempts
    err["reason"] = e.give_up_reason
    err["code"] = e.code
    err["class"] = type(e).__name__
    err["partial"] = getattr(e, "partial", None) is not None
    return err


def _call_run(inp: dict[str, Any]) -> dict[str, Any]:
    builder = cp.RequestBuilder(str(inp.get("api_key") or "k"))
    kind = inp.get("kind") or "messages"
    try:
        if kind == "count_tokens":
            call = cp.MessagesCall.count_tokens(builder, inp["request"], inp["options"])
        elif kind == "webhook":
            hook = inp["webhook"]
            call = cp.MessagesCall.webhook({"body": str(hook["body"]).encode(), "headers": [tuple(h) for h in hook["headers"]]}, inp["options"])
        else:
            call = cp.MessagesCall(builder, inp["request"], inp["options"])
    except (cp.ToolDefinitionError, cp.CapabilityError, cp.RequestBuildError) as e:
        return {"actions": [], "result": {"error": {"kind": "preflight", "code": e.code, "class": type(e).__name__}}}
    early = int(inp.get("early_wake_ms") or 0)
    now = int(inp["start_ms"])
    attempts = iter(inp["attempts"])
    actions: list[dict[str, Any]] = []
    d = _Driven(call)
    for _ in range(100):
        action = call.next_action(now)
        if action["type"] == "send":
            actions.append({"send": True})
            now = _play_attempt(d, next(attempts), now)
        elif action["type"] == "wait":
            until = int(action["until_ms"])
            record: dict[str, Any] = {"wait_until": until}
            if action.get("retry") is not None:
                record["retry"] = _notice(action["retry"])
            actions.append(record)
            # A sleep may wake a little early; the call's clock makes up for it.
            now = max(now, until - early)
        else:
            break
    try:
        r = call.take_output()
        assert r is not None, "no result"
        if kind == "messages":
            result: dict[str, Any] = {"message": r["message"], "attempts": r["attempts"], "request_id": r["request_id"]}
        else:
            result = dict(r)
    except cp.CreditpoolError as e:
        result = {"error": _error_json(e)}
    return {"actions": actions, "result": result}


def check_messages_call(case: Case) -> str | None:
    """``MessagesCall`` driven through scripted attempts (``vectors_messages_call.rs``):
    the actions exactly, of the result what the case names."""
    actual = _call_run(case.input)
    d = json_diff("actions", actual["actions"], case.expected.get("actions", actual["actions"]))
    if d is not None:
        return d
    err = actual["result"].get("error")
    if isinstance(err, dict) and err.get("code") is not None and cp.class_for_code(str(err["code"])) != err.get("class"):
        return f"raised {err.get('class')} for code {err['code']}, the core's table says {cp.class_for_code(str(err['code']))}"
    return json_subset_diff("result", actual["result"], case.expected["result"])


def _pool_run(inp: dict[str, Any], roundtrip: bool, with_ledger: bool) -> dict[str, Any]:
    try:
        pool = cp.Pool(inp["config"], int(inp.get("created_at_ms") or 0))
    except cp.PoolConfigError as e:
        return {"error": {"error": "invalid_config", "reason": e.reason}}
    secret = inp.get("webhook_secret")
    results: list[Any] = []
    events: list[Any] = []
    ledger: list[Any] = []
    for i, op in enumerate(inp["ops"]):
        if roundtrip:
            pool = cp.Pool.restore_json(pool.snapshot_json())
        results.append(pool.apply(op))
        for alert in pool.poll_events():
            ev: dict[str, Any] = {"after_op": i, "payload": alert["payload"]}
            if isinstance(secret, str):
                at = int(inp.get("webhook_delivered_at_ms") or inp.get("created_at_ms") or 0)
                delivery = cp.webhook_delivery(alert, secret.encode(), at)
                body = bytes(delivery["body"])
                headers = dict(delivery["headers"])
                signature = headers[cp.WEBHOOK_SIGNATURE_HEADER]
                timestamp = headers[cp.WEBHOOK_TIMESTAMP_HEADER]
                # An independent check of the core's HMAC over "t.body", as a receiver would do it.
                mine = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                assert hmac.compare_digest(mine, signature), (mine, signature)
                assert cp.verify_webhook_signature(secret.encode(), body, signature, timestamp, now_ms=at)
                assert json.loads(body) == alert["payload"]
                ev["body"] = body.decode()
                ev["timestamp"] = int(timestamp)
                ev["signature"] = signature
            events.append(ev)
        ledger += [entry for _line, entry in pool.poll_ledger()]
    out: dict[str, Any] = {"results": results, "events": events}
    if with_ledger:
        out["ledger"] = ledger
    return out


def check_pool_scenario(case: Case) -> str | None:
    """``Pool.apply`` (``vectors_pool_scenario.rs``), then the same run with
    the pool written to snapshot JSON and restored before every operation."""
    with_ledger = isinstance(case.expected, dict) and "ledger" in case.expected
    d = json_diff("", _pool_run(case.input, False, with_ledger), case.expected)
    if d is not None:
        return d
    if any(str(op.get("op", "")).startswith("thread_") for op in case.input.get("ops") or []):
        return None  # the book of message threads is not in the snapshot (pool/threads.rs)
    plain = _pool_run(case.input, False, True)
    restored = _pool_run(case.input, True, True)
    d = json_diff("", restored, plain)
    return None if d is None else f"restore before every op: {d}"


def _tool_result(run: cp.AgentRun, calls: list[dict[str, Any]], v: dict[str, Any]) -> dict[str, Any]:
    """A scripted tool result: a ``ToolResult``, or ``{"tool_use_id",
    "output": ToolOutput}`` that the run words itself."""
    if "output" not in v:
        return v
    call = next(c for c in calls if c["id"] == v["tool_use_id"])
    return run.tool_result(call, v["output"])


def _agent_run(inp: dict[str, Any]) -> dict[str, Any]:
    start = int(inp["start_ms"])
    pool = cp.Pool(inp["pool"], start)
    builder = cp.RequestBuilder(str(inp.get("api_key") or "k"))
    run = cp.AgentRun(inp["config"], inp["request"], builder, cp.PriceTable())
    responses = iter(inp["responses"])
    tool_results = iter(inp["tool_results"])
    early = int(inp.get("early_wake_ms") or 0)
    now = start
    actions: list[dict[str, Any]] = []
    ops: list[Any] = []
    d = _Driven(run, pool, ops)
    for _ in range(200):
        action = run.next_action(now)
        kind = action["type"]
        if kind == "pool":
            ops.append(action["op"]["op"])
            run.handle_pool(pool.apply(action["op"]), now)
        elif kind == "send":
            actions.append({"send": True})
            now = _play_attempt(d, next(responses), now)
        elif kind == "call_tools":
            calls = list(action["calls"])
            actions.append({"call_tools": calls})
            run.handle_tool_results([_tool_result(run, calls, v) for v in next(tool_results)])
        elif kind == "wait":
            until = int(action["until_ms"])
            record: dict[str, Any] = {"wait_until": until, "reason": action["reason"]}
            if action.get("retry") is not None:
                record["retry"] = _notice(action["retry"])
            actions.append(record)
            # A sleep may wake a little early; the run's clock makes up for it.
            now = max(now, until - early)
        else:
            break
    outcome = run.outcome()
    assert outcome is not None, "no outcome"
    ledger = [entry for _line, entry in pool.poll_ledger()]
    transcript = outcome["transcript"]
    errors = [b for m in transcript if isinstance(m.get("content"), list) for b in m["content"] if b.get("type") == "tool_result" and b.get("is_error") is True]
    totals = pool.totals()
    return {
        "actions": actions,
        "pool_ops": ops,
        "outcome": outcome,
        "turn_count": len(outcome["turns"]),
        "pool": {"settled": totals["settled"], "reserved": totals["reserved"]},
        "ledger": len(ledger),
        "ledger_kinds": [e["kind"] for e in ledger],
        "ledger_request_ids": [e.get("request_id") for e in ledger],
        "transcript": transcript,
        "tool_result_errors": errors,
        "error": run.error(),
    }


def check_agent_run(case: Case) -> str | None:
    """``AgentRun`` against a ``Pool`` through scripted responses and tool
    results (``vectors_agent_run.rs``)."""
    actual = _agent_run(case.input)
    status = actual["outcome"].get("status")
    error = actual["error"]
    # The exception the status stands for: none when the model answered.
    if (error is None) != (status in ("completed", "stopped")):
        return f"status {status} came with error {error!r}"
    if status == "pool_refused" and not isinstance(error, cp.PoolRefusedError):
        return f"a refusal raised as {type(error).__name__}"
    if error is not None and status != "cancelled":
        # The exception's class is the one the core's table gives its code.
        if error.code is None or type(error).__name__ != cp.class_for_code(error.code):
            return f"status {status} raised {type(error).__name__} with code {error.code!r}"
        if "code" in actual["outcome"] and actual["outcome"]["code"] != error.code:
            return f"outcome code {actual['outcome']['code']} != the exception's {error.code}"
        want = case.expected.get("outcome") or {}
        if "class" in want and want["class"] != type(error).__name__:
            return f"raised {type(error).__name__}, expected {want['class']}"
    for key, want in case.expected.items():
        if key == "outcome":
            d = json_subset_diff(key, actual[key], {k: v for k, v in want.items() if k != "class"})
        elif key == "pool":
            d = json_subset_diff(key, actual[key], want)
        elif key == "transcript_tail":
            t = actual["transcript"]
            d = json_diff("transcript_tail", t[len(t) - len(want) :] if want else [], want)
        elif key == "tool_result_errors":
            d = None
            for w in want:
                hit = next((g for g in actual["tool_result_errors"] if g.get("tool_use_id") == w["tool_use_id"]), None)
                if hit is None:
                    d = f"no is_error result for {w['tool_use_id']}"
                    break
                text = json.dumps(hit.get("content"), ensure_ascii=False)
                if str(w["contains"]) not in text and json.dumps(str(w["contains"]), ensure_ascii=False)[1:-1] not in text:
                    d = f"is_error result {text} does not contain {w['contains']!r}"
                    break
        else:
            d = json_diff(key, actual[key], want)
        if d is not None:
            return d
    return None


def check_activity_chart(case: Case) -> str | None:
    """``activity_from_ledger`` then ``activity_chart`` (``vectors_activity_chart.rs``):
    the spec must equal the golden one exactly (an int never equals a float,
    no key may be missing or extra), and so must the public
    ``ActivityChart.from_ledger`` of the same options."""
    inp = case.input
    options = inp.get("options") or {}
    spec = cp.activity_chart(cp.activity_from_ledger(inp["ledger"], options))
    want = case.expected["spec"]
    d = strict_diff("spec", spec, want)
    if d is None and spec != want:
        d = "spec: differs from the expected one"
    if d is None and json.dumps(spec) != json.dumps(want, sort_keys=True):
        d = "spec: keys not in the core's (sorted) order"
    if d is None:
        public = creditpool.ActivityChart.from_ledger(
            inp["ledger"],
            limit=None if options.get("limit") is None else creditpool.nanos(options["limit"]),
            thresholds_pct=options.get("thresholds_pct"),
            cycle_start_ms=options.get("cycle_start_ms"),
            title=options.get("title"),
        )
        d = strict_diff("ActivityChart.spec", public.spec, want)
    return d


RUNNERS: dict[str, Callable[[Case], str | None]] = {
    "activity_chart": check_activity_chart,
    "pool_scenario": check_pool_scenario,
    "agent_run": check_agent_run,
    "messages_call": check_messages_call,
    "build_request": check_build_request,
    "sse_accumulate": check_sse_accumulate,
    "sse_decode": check_sse_decode,
    "parse_response": check_parse_response,
    "rate_limit_headers": check_rate_limit_headers,
    "retry_decision": check_retry_decision,
    "partial_json": check_partial_json,
    "tool_definition": check_tool_definition,
    "tool_input": check_tool_input,
    "cost": check_cost,
    "worst_case": check_worst_case,
    "capability_check": check_capability_check,
    "meter": check_meter,
    "money": check_money,
}

MIN_CASES = {"pool_scenario": 25, "parse_response": 25, "rate_limit_headers": 10, "retry_decision": 30, "sse_decode": 30, "partial_json": 40, "tool_definition": 25, "tool_input": 30, "cost": 35, "worst_case": 15, "capability_check": 10, "money": 30}
"""The Rust runners' own floors on the number of cases."""


def test_every_kind_has_a_runner() -> None:
    """A kind in the files with no runner here fails loudly (unless listed,
    with a reason, in ``EXPECTED_MISSING``)."""
    found = kinds_in_files()
    missing = {k: files for k, files in found.items() if k not in RUNNERS and k not in EXPECTED_MISSING}
    assert not missing, f"vector kinds without a Python runner: {missing}"
    stale = [k for k in RUNNERS if k not in found]
    assert not stale, f"runners for kinds with no vector file: {stale}"


def test_expected_missing_kinds_are_still_missing() -> None:
    """A kind listed as missing must not also have a runner, and must still
    have vector files, so that the list cannot go stale."""
    assert not set(EXPECTED_MISSING) & set(RUNNERS)
    assert set(EXPECTED_MISSING) <= set(kinds_in_files())


@pytest.mark.parametrize("kind", sorted(RUNNERS))
def test_vectors(kind: str) -> None:
    """Every case of a kind; all failures are listed together."""
    cases = load_kind(kind)
    assert cases, f"no vectors of kind {kind!r}"
    assert len(cases) >= MIN_CASES.get(kind, 1), f"only {len(cases)} {kind} vectors"
    failures = []
    for case in cases:
        try:
            d = RUNNERS[kind](case)
        except Exception as e:  # a crash is a failure of that case, reported with the rest
            d = f"raised {type(e).__name__}: {e}"
        if d is not None:
            failures.append(f"{case.id}: {d}")
    assert not failures, f"{len(failures)} of {len(cases)} {kind} vectors failed:\n" + "\n".join(failures)
