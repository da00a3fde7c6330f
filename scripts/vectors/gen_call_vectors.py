#!/usr/bin/env python3
"""Writes tests/vectors/call/messages_call.json: MessagesCall driven through
scripted attempts. Expected actions and results follow from the retry rules by
hand (jitter 0, so every backoff is min(500 * 2^n, 8000) ms); nothing here is
computed by creditpool itself."""
import json
from pathlib import Path

START = 1_800_000_000_000
REQ = {"model": "claude-haiku-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": "Hi"}]}


def msg(text="Hello!", mid="msg_1", stop="end_turn", out=5):
    return {"id": mid, "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 9, "output_tokens": out}}


def err(status, etype, message="boom", headers=None):
    return {"status": status, "headers": [["request-id", f"req_{status}"]] + (headers or []),
            "body": json.dumps({"type": "error", "error": {"type": etype, "message": message}, "request_id": f"req_{status}"})}


def ok(m=None):
    return {"status": 200, "headers": [["request-id", "req_ok"], ["content-type", "application/json"]], "body": json.dumps(m or msg())}


def sse(events):
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def stream_events(text="Hello!", mid="msg_s"):
    m = msg(text, mid)
    start = dict(m, content=[], stop_reason=None, usage={"input_tokens": 9, "output_tokens": 1})
    half = len(text) // 2
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[:half]}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[half:]}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]


def stream_ok(text="Hello!", mid="msg_s", split=3):
    body = sse(stream_events(text, mid))
    n = len(body) // split
    chunks = [body[i * n:(i + 1) * n] for i in range(split - 1)] + [body[(split - 1) * n:]]
    return {"status": 200, "headers": [["request-id", "req_stream"]], "chunks": chunks}


def stream_msg(text="Hello!", mid="msg_s"):
    return msg(text, mid)


NOJ = {"retry": {"jitter": 0}}
SNOJ = {"stream": True, "retry": {"jitter": 0}}
IDLE = 600_000

cases = []


def case(name, options, attempts, actions, result, request=None, **extra):
    inp = {"api_key": "sk-test", "request": request or REQ, "options": options, "start_ms": START, "attempts": attempts}
    inp.update(extra)
    cases.append({"name": name, "input": inp, "expected": {"actions": actions, "result": result}})


def W(until, retry_code=None, attempt=0, delay=500):
    """A wait; with a retry notice when the failed attempt had handed out events."""
    w = {"wait_until": until}
    if retry_code:
        w["retry"] = {"attempt": attempt, "delay_ms": delay, "code": retry_code}
    return w


S = {"send": True}
case("json success on the first attempt", NOJ, [ok()], [S], {"message": msg(), "attempts": 1, "request_id": "req_ok"})
case("529 then success after 500 ms backoff", NOJ, [err(529, "overloaded_error"), ok()],
     [S, {"wait_until": START + 500}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("429 with retry-after 2 waits exactly 2 s", NOJ, [err(429, "rate_limit_error", headers=[["retry-after", "2"]]), ok()],
     [S, {"wait_until": START + 2000}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("retry-after-ms wins over retry-after", NOJ, [err(429, "rate_limit_error", headers=[["retry-after", "9"], ["retry-after-ms", "1250"]]), ok()],
     [S, {"wait_until": START + 1250}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("retry-after of 120 s is honoured (the Python SDK would ignore it)", NOJ,
     [err(429, "rate_limit_error", headers=[["retry-after", "120"]]), ok()],
     [S, {"wait_until": START + 120_000}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("retry-after beyond the cap gives up", NOJ, [err(429, "rate_limit_error", headers=[["retry-after", "3600"]])],
     [S], {"error": {"kind": "api", "type": "rate_limit_error", "attempts": 1, "reason": {"type": "retry_after_too_long", "retry_after_ms": 3600000, "cap_ms": 600000}}})
case("400 is not retried", NOJ, [err(400, "invalid_request_error")],
     [S], {"error": {"kind": "api", "type": "invalid_request_error", "attempts": 1, "reason": {"type": "not_retryable", "status": 400}}})
case("an API that does not know the pool selector: its 400 naming the selector field is pool_selector_rejected, not retried", NOJ,
     [err(400, "invalid_request_error", "credit_pool: Extra inputs are not permitted")],
     [S], {"error": {"kind": "api", "type": "invalid_request_error", "attempts": 1, "reason": {"type": "not_retryable", "status": 400},
                     "code": "pool_selector_rejected", "class": "PoolSelectorRejectedError"}})
case("a 400 naming another field as an extra input stays a plain invalid_request_error", NOJ,
     [err(400, "invalid_request_error", "temprature: Extra inputs are not permitted")],
     [S], {"error": {"kind": "api", "type": "invalid_request_error", "attempts": 1, "reason": {"type": "not_retryable", "status": 400},
                     "code": "invalid_request_error", "class": "BadRequestError"}})
case("401 is not retried", NOJ, [err(401, "authentication_error")],
     [S], {"error": {"kind": "api", "type": "authentication_error", "attempts": 1, "reason": {"type": "not_retryable", "status": 401}}})
case("three 500s exhaust two retries (500 ms, then 1000 ms)", NOJ, [err(500, "api_error")] * 3,
     [S, {"wait_until": START + 500}, S, {"wait_until": START + 1500}, S],
     {"error": {"kind": "api", "type": "api_error", "attempts": 3, "reason": {"type": "attempts_exhausted", "attempts": 3}}})
case("max_retries 0 never retries", {"retry": {"jitter": 0, "max_retries": 0}}, [err(529, "overloaded_error")],
     [S], {"error": {"kind": "api", "type": "overloaded_error", "attempts": 1, "reason": {"type": "attempts_exhausted", "attempts": 1}}})
case("x-should-retry false stops a 503", NOJ, [err(503, "api_error", headers=[["x-should-retry", "false"]])],
     [S], {"error": {"kind": "api", "type": "api_error", "attempts": 1, "reason": {"type": "should_retry_header_false"}}})
case("x-should-retry true retries a 400", NOJ, [err(400, "invalid_request_error", headers=[["x-should-retry", "true"]]), ok()],
     [S, {"wait_until": START + 500}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("connection failure then success", NOJ, [{"transport_error": {"type": "connection"}}, ok()],
     [S, {"wait_until": START + 500}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("read timeout then success", NOJ, [{"transport_error": {"type": "timeout", "phase": "read"}}, ok()],
     [S, {"wait_until": START + 500}, S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("malformed 2xx body is not retried", NOJ, [{"status": 200, "headers": [], "body": "{\"id\": 1"}],
     [S], {"error": {"kind": "parse", "attempts": 1, "reason": {"type": "not_retryable", "status": 200}}})
case("stream success in chunks", SNOJ, [stream_ok()], [S], {"message": stream_msg(), "attempts": 1, "request_id": "req_stream"})
case("stream success one byte at a time", SNOJ, [dict(stream_ok(), chunks=list(sse(stream_events())))], [S],
     {"message": stream_msg(), "attempts": 1, "request_id": "req_stream"})
ov = stream_events()[:4] + [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
case("mid-stream overloaded_error is retried (the official SDKs do not)", SNOJ,
     [{"status": 200, "headers": [], "chunks": [sse(ov)]}, stream_ok("Second try", "msg_2")],
     [S, W(START + 500, "overloaded_error"), S], {"message": stream_msg("Second try", "msg_2"), "attempts": 2, "request_id": "req_stream"})
bad = stream_events()[:4] + [{"type": "error", "error": {"type": "invalid_request_error", "message": "nope"}}]
case("mid-stream invalid_request_error is not retried", SNOJ, [{"status": 200, "headers": [], "chunks": [sse(bad)]}],
     [S], {"error": {"kind": "api", "type": "invalid_request_error", "attempts": 1, "reason": {"type": "not_retryable_stream_error", "error_type": "invalid_request_error"}}})
cut = sse(stream_events())[:-60]
case("stream cut before message_stop is retried", SNOJ, [{"status": 200, "headers": [], "chunks": [cut]}, stream_ok()],
     [S, W(START + 500, "stream_incomplete"), S], {"message": stream_msg(), "attempts": 2, "request_id": "req_stream"})
case("stalled stream hits the idle timeout, then is retried", SNOJ,
     [{"status": 200, "headers": [], "chunks": [sse(stream_events()[:3])], "end": False}, stream_ok()],
     [S, W(START + IDLE + 500, "idle_timeout"), S], {"message": stream_msg(), "attempts": 2, "request_id": "req_stream"})
case("custom idle timeout", {"stream": True, "idle_timeout_ms": 5000, "retry": {"jitter": 0}},
     [{"status": 200, "headers": [], "chunks": [sse(stream_events()[:3])], "end": False}, stream_ok()],
     [S, W(START + 5000 + 500, "idle_timeout"), S], {"message": stream_msg(), "attempts": 2, "request_id": "req_stream"})
case("stream request answered 529 with a JSON body, then streams", SNOJ, [err(529, "overloaded_error"), stream_ok()],
     [S, {"wait_until": START + 500}, S], {"message": stream_msg(), "attempts": 2, "request_id": "req_stream"})
case("every stream attempt cut: exhausted", {"stream": True, "retry": {"jitter": 0, "max_retries": 1}},
     [{"status": 200, "headers": [], "chunks": [cut]}] * 2,
     [S, W(START + 500, "stream_incomplete"), S], {"error": {"kind": "stream", "attempts": 2, "reason": {"type": "attempts_exhausted", "attempts": 2}}})
case("backoff doubles and caps at 8 s", {"retry": {"jitter": 0, "max_retries": 6}}, [err(500, "api_error")] * 6 + [ok()],
     [S, {"wait_until": START + 500}, S, {"wait_until": START + 1500}, S, {"wait_until": START + 3500}, S,
      {"wait_until": START + 7500}, S, {"wait_until": START + 15500}, S, {"wait_until": START + 23500}, S],
     {"message": msg(), "attempts": 7, "request_id": "req_ok"})

# The driving protocol: what a driver reports and what the core makes of it.
# The same failure gives the same code and class in every language.
half = sse(stream_events())[:len(sse(stream_events())) // 2]
case("a connection reset mid-stream is a cut stream, retried with a notice", SNOJ,
     [{"status": 200, "headers": [], "chunks": [half], "reset": True}, stream_ok()],
     [S, W(START + 500, "stream_incomplete"), S], {"message": stream_msg(), "attempts": 2, "request_id": "req_stream"})
case("a connection reset mid-stream with no retry left keeps the partial message",
     {"stream": True, "retry": {"jitter": 0, "max_retries": 0}},
     [{"status": 200, "headers": [], "chunks": [half], "reset": True}],
     [S], {"error": {"kind": "stream", "attempts": 1, "code": "stream_incomplete", "class": "StreamIncompleteError", "partial": True,
                     "reason": {"type": "attempts_exhausted", "attempts": 1}}})
case("a connection failure before any answer is a connection error", {"retry": {"jitter": 0, "max_retries": 0}},
     [{"transport_error": {"type": "connection"}}],
     [S], {"error": {"kind": "transport", "attempts": 1, "code": "connection_error", "class": "APIConnectionError", "partial": False,
                     "reason": {"type": "attempts_exhausted", "attempts": 1}}})
case("no answer: the read timeout passes through handle_timeout, then a retry", {"read_timeout_ms": 30000, "retry": {"jitter": 0}},
     [{"no_head": True}, ok()],
     [S, W(START + 30000 + 500), S], {"message": msg(), "attempts": 2, "request_id": "req_ok"})
case("no answer and no retry left: a read timeout", {"read_timeout_ms": 30000, "retry": {"jitter": 0, "max_retries": 0}},
     [{"no_head": True}],
     [S], {"error": {"kind": "transport", "attempts": 1, "code": "read_timeout", "class": "APITimeoutError", "partial": False,
                     "reason": {"type": "attempts_exhausted", "attempts": 1}}})
case("a stalled stream with no retry left: an idle timeout with the partial message",
     {"stream": True, "idle_timeout_ms": 5000, "retry": {"jitter": 0, "max_retries": 0}},
     [{"status": 200, "headers": [], "chunks": [sse(stream_events()[:4])], "end": False}],
     [S], {"error": {"kind": "transport", "attempts": 1, "code": "idle_timeout", "class": "APITimeoutError", "partial": True,
                     "reason": {"type": "attempts_exhausted", "attempts": 1}}})
case("a sleep that wakes 5 ms early still sends the retry (the clock after a wait)", NOJ, [err(529, "overloaded_error"), ok()],
     [S, W(START + 500), S], {"message": msg(), "attempts": 2, "request_id": "req_ok"}, early_wake_ms=5)
case("a 529 gives up as overloaded_error, class OverloadedError", {"retry": {"jitter": 0, "max_retries": 0}},
     [err(529, "overloaded_error")],
     [S], {"error": {"kind": "api", "type": "overloaded_error", "attempts": 1, "code": "overloaded_error", "class": "OverloadedError",
                     "partial": False}})
case("a 400 is invalid_request_error, class BadRequestError", NOJ, [err(400, "invalid_request_error")],
     [S], {"error": {"kind": "api", "code": "invalid_request_error", "class": "BadRequestError", "attempts": 1}})
case("a mid-stream overloaded_error with no retry left keeps the partial message", {"stream": True, "retry": {"jitter": 0, "max_retries": 0}},
     [{"status": 200, "headers": [], "chunks": [sse(ov)]}],
     [S], {"error": {"kind": "api", "code": "overloaded_error", "class": "OverloadedError", "partial": True, "attempts": 1}})
BADTOOL = dict(REQ, tools=[{"name": "look up", "description": "Looks things up.", "input_schema": {"type": "object"}}])
case("preflight: an invalid tool name is refused before anything is sent", NOJ, [], [],
     {"error": {"kind": "preflight", "code": "invalid_tool_name", "class": "ToolDefinitionError"}}, request=BADTOOL)
SONNET5 = dict(REQ, model="claude-sonnet-5", temperature=0.5)
case("preflight: a sampling parameter the model refuses costs nothing", NOJ, [], [],
     {"error": {"kind": "preflight", "code": "capability_sampling_parameter", "class": "CapabilityError"}}, request=SONNET5)
case("preflight off: the request is sent as it is", {"retry": {"jitter": 0}, "preflight": False}, [ok()], [S],
     {"message": msg(), "attempts": 1, "request_id": "req_ok"}, request=BADTOOL)

# Memory stays bounded: a whole stream has a size cap, not only each event.
big = stream_ok(split=3)
cap = len(big["chunks"][0]) + 10
case("a stream past max_stream_bytes fails at once, keeping the message so far, not retried",
     {"stream": True, "max_stream_bytes": cap, "retry": {"jitter": 0}}, [big], [S],
     {"error": {"kind": "stream", "code": "stream_too_large", "class": "StreamTooLargeError", "partial": True, "attempts": 1,
                "reason": {"type": "not_retryable", "status": 200}}})

# One retrying call for any request: count_tokens and webhook deliveries.
def counted(n=42):
    return {"status": 200, "headers": [["request-id", "req_ct"]], "body": json.dumps({"input_tokens": n})}


case("count_tokens: the count, first time", NOJ, [counted()], [S], {"input_tokens": 42, "attempts": 1, "request_id": "req_ct"},
     kind="count_tokens")
case("count_tokens: a 529 is retried like any call", NOJ, [err(529, "overloaded_error"), counted(7)], [S, W(START + 500), S],
     {"input_tokens": 7, "attempts": 2, "request_id": "req_ct"}, kind="count_tokens")
case("count_tokens: a 400 is not retried", NOJ, [err(400, "invalid_request_error")], [S],
     {"error": {"kind": "api", "code": "invalid_request_error", "class": "BadRequestError", "attempts": 1}}, kind="count_tokens")
HOOK = {"body": "{\"text\":\"pool at 50 %\"}", "headers": [["x-creditpool-signature", "sha256=00"]]}
WH = {"retry": {"jitter": 0, "max_retries": 3}, "read_timeout_ms": 10000}


def answered(status):
    return {"status": status, "headers": [], "body": "whatever the receiver says"}


case("webhook: any 2xx delivers it", WH, [answered(204)], [S], {"delivered": 204, "attempts": 1}, kind="webhook", webhook=HOOK)
case("webhook: a 503 and a lost connection are retried", WH,
     [answered(503), {"transport_error": {"type": "connection"}}, answered(200)],
     [S, W(START + 500), S, W(START + 1500), S], {"delivered": 200, "attempts": 3}, kind="webhook", webhook=HOOK)
case("webhook: a 404 is not retried", WH, [answered(404)], [S],
     {"error": {"kind": "api", "code": "not_found_error", "attempts": 1, "reason": {"type": "not_retryable", "status": 404}}},
     kind="webhook", webhook=HOOK)
case("webhook: a receiver that never answers times out after 10 s, retried", WH, [{"no_head": True}, answered(200)],
     [S, W(START + 10000 + 500), S], {"delivered": 200, "attempts": 2}, kind="webhook", webhook=HOOK)

doc = {"kind": "messages_call",
       "description": "MessagesCall (creditpool_core::call) driven through scripted attempts: the actions it asks for, "
                      "the waits between attempts and the final result. Generated by scripts/vectors/gen_call_vectors.py.",
       "cases": cases}
Path(__file__).resolve().parents[2].joinpath("tests/vectors/call/messages_call.json").write_text(json.dumps(doc, indent=1) + "\n")
print(len(cases), "cases")
