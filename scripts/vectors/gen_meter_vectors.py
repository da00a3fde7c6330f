"""Generates tests/vectors/meter/meter.json: the `meter` kind (the books of one
call made through an official SDK's middleware). Costs by hand from the
published prices (claude-haiku-4-5: $1 / $5 per MTok, so 1000 nano-USD per
input token and 5000 per output token); the reserved worst case (`amount`) is
the compact JSON body sent (the selector included) at one input token per
byte, plus `max_tokens` at the output rate (see pricing/estimate.rs)."""
import json
POOL = {"limit": 1000000000, "cycle": {"kind": "fixed", "start_ms": 0, "length_ms": 18000000000000}, "lease_ms": 60000}
START = 1800000000000
BODY = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
SBODY = dict(BODY, stream=True)
OK = json.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}})
ERR529 = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
ERR400 = json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}})
def ev(name, data): return f"event: {name}\ndata: {json.dumps(data)}\n\n"
SSE = [
  ev("message_start", {"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
  ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
  ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
  ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
  ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
  ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 7}}),
  ev("message_stop", {"type": "message_stop"}),
]
H = {"request-id": "req_1"}
# Haiku 4.5: 1000 nano-USD per input token, 5000 per output token.
cases = []
def case(name, input, expected):
    inp = {"pool": POOL, "start_ms": START, "config": {"agent": "researcher"}, "body": BODY}
    inp.update(input)
    cases.append({"name": name, "input": inp, "expected": expected})

case("a JSON response settles exactly from its usage; the selector is added to the body",
     {"attempts": [{"retries_taken": 0, "status": 200, "headers": H, "body": OK}]},
     {"body": dict(BODY, credit_pool="programmatic"), "actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 10*1000 + 5*5000, "estimated": False}], "pool": {"settled": 35000, "reserved": 0}})
case("a 529 then a success: one reservation kept across the SDK's retry, one settle",
     {"attempts": [{"retries_taken": 0, "status": 529, "headers": H, "body": ERR529}, {"retries_taken": 1, "status": 200, "headers": H, "body": OK}]},
     {"actions": ["send", "idle", "send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}], "pool": {"settled": 35000, "reserved": 0}})
case("529 on every attempt: the hold is kept while the SDK will retry and released after its last attempt",
     {"attempts": [{"retries_taken": i, "status": 529, "headers": H, "body": ERR529} for i in range(3)]},
     {"actions": ["send", "idle", "send", "idle", "send", "done"], "pool_ops": ["reserve", "release"],
      "ledger": [{"kind": "release", "cost": 0, "estimated": False}], "pool": {"settled": 0, "reserved": 0}})
case("max_retries 0: a 529 is the last attempt, released",
     {"attempts": [{"retries_taken": 0, "max_retries": 0, "status": 529, "headers": H, "body": ERR529}]},
     {"actions": ["send", "done"], "pool_ops": ["reserve", "release"], "pool": {"settled": 0, "reserved": 0}})
case("a 400 is not retried by the SDK: released at once",
     {"attempts": [{"retries_taken": 0, "status": 400, "headers": H, "body": ERR400}]},
     {"actions": ["send", "done"], "pool_ops": ["reserve", "release"], "pool": {"settled": 0, "reserved": 0}})
case("x-should-retry: false on a 529: the SDK will not retry, released",
     {"attempts": [{"retries_taken": 0, "status": 529, "headers": {"x-should-retry": "false"}, "body": ERR529}]},
     {"actions": ["send", "done"], "pool_ops": ["reserve", "release"]})
case("a connection that never opened keeps the hold for the retry; the success settles once",
     {"attempts": [{"retries_taken": 0, "transport": "not_sent"}, {"retries_taken": 1, "status": 200, "headers": H, "body": OK}]},
     {"actions": ["send", "idle", "send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
case("a transport failure after the request left may have been billed: settled at the worst case, flagged; the retry reserves again",
     {"attempts": [{"retries_taken": 0, "transport": "lost"}, {"retries_taken": 1, "status": 200, "headers": H, "body": OK}]},
     {"actions": ["send", "idle", "send", "done"], "pool_ops": ["reserve", "settle", "reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": "AMOUNT", "estimated": True}, {"kind": "settle", "cost": 35000, "estimated": False}]})
case("a stream settles from a copy of its events; message_delta usage is cumulative",
     {"body": SBODY, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": SSE}]},
     {"body": dict(SBODY, credit_pool="programmatic"), "actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 10*1000 + 7*5000, "estimated": False}], "pool": {"settled": 45000, "reserved": 0}})
case("a stream split inside events settles the same",
     {"body": SBODY, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": (lambda s: [s[i:i+37] for i in range(0, len(s), 37)])("".join(SSE))}]},
     {"actions": ["send", "done"], "ledger": [{"kind": "settle", "cost": 45000, "estimated": False}]})
case("a stream abandoned half-way is settled at the reserved worst case, flagged estimated",
     {"body": SBODY, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": SSE[:3], "end": False}]},
     {"actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": "AMOUNT", "estimated": True}], "pool": {"reserved": 0}})
case("a stream closed after its message_stop but before the end of the body settles exactly",
     {"body": SBODY, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": SSE, "end": False}]},
     {"actions": ["send", "done"], "ledger": [{"kind": "settle", "cost": 45000, "estimated": False}]})
case("a 529 before a stream is retried on the same hold",
     {"body": SBODY, "attempts": [{"retries_taken": 0, "status": 529, "headers": H, "body": ERR529}, {"retries_taken": 1, "status": 200, "headers": H, "chunks": SSE}]},
     {"actions": ["send", "idle", "send", "done"], "pool_ops": ["reserve", "settle"], "ledger": [{"kind": "settle", "cost": 45000, "estimated": False}]})
case("a cancellation while the request is out settles the worst case, flagged",
     {"attempts": [{"retries_taken": 0, "abandon": True}]},
     {"actions": ["send", "done"], "pool_ops": ["reserve", "settle"], "ledger": [{"kind": "settle", "cost": "AMOUNT", "estimated": True}]})
case("a hold kept for a retry that never comes is released when the caller gives up",
     {"abandon_at_end": True, "attempts": [{"retries_taken": 0, "status": 529, "headers": H, "body": ERR529}]},
     {"actions": ["send", "idle", "done"], "pool_ops": ["reserve", "release"], "pool": {"settled": 0, "reserved": 0}})
case("a refusal: nothing is sent and nothing is booked",
     {"pool": dict(POOL, limit=1000), "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "body": OK}]},
     {"actions": [{"refused": "pool_exhausted"}], "pool_ops": ["reserve"], "ledger": [], "pool": {"settled": 0, "reserved": 0}})
case("the selector switched off: the body is sent as the SDK built it",
     {"config": {"agent": "researcher", "pool_selector": False}, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "body": OK}]},
     {"body": BODY, "actions": ["send", "done"]})
case("a custom selector",
     {"config": {"agent": "researcher", "pool_selector": {"field": "pool", "value": "team-a"}}, "attempts": []},
     {"body": dict(BODY, pool="team-a"), "actions": []})
case("a selector that collides with a request parameter is a typed error",
     {"config": {"agent": "researcher", "pool_selector": {"field": "model", "value": "x"}}, "attempts": []},
     {"error": "selector_collision"})
case("a model the table cannot price is a typed error before anything is sent",
     {"body": dict(BODY, model="claude-imaginary-9"), "attempts": []},
     {"error": "unknown_model"})
# A thread continue request: its body does not bound the stored thread the API
# bills; bounded by the context window of claude-haiku-4-5 (200,000 tokens) at
# its 1-hour cache-write rate ($2 / MTok = 2000 nano-USD per token). The
# unknown create's tools may add, on every request of the thread, the default
# 10 web searches ($10 per 1000: 10,000,000 nano-USD each) and 5 minutes of
# code-execution container time ($0.05 per hour, rounded up: 4,166,667).
UNKNOWN_TOOLS = 10 * 10000000 + 4166667
THREAD = dict(BODY, thread={"type": "continue", "previous_message_id": "msg_1"})
case("a thread continue request is bounded by the model's context window at the 1-hour cache-write rate",
     {"body": THREAD, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "body": OK}]},
     {"amount": 200000 * 2000 + 100 * 5000 + UNKNOWN_TOOLS, "actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
case("a thread create request is bounded by its body as usual",
     {"body": dict(BODY, thread={"type": "create"}), "attempts": []},
     {"actions": []})
case("a body that is not a Messages request is a typed error",
     {"body": {"model": "claude-haiku-4-5"}, "attempts": []},
     {"error": "invalid_request"})

# ---- Message threads: a sequence of calls through one middleware (one
# ThreadBook, one pool). Each call's `amount` is its reserved worst case.
# A continue from a message the book knows is bounded by the thread's input
# so far plus its own body: the thread's input after a response is the
# request's input bound (never less than the input billed), plus the
# response's output tokens, plus the bytes of its content (compact JSON).
# Claude Haiku 4.5: window 200,000 tokens; 5-minute cache write $1.25/MTok
# (1250 nano-USD a token), 1-hour $2/MTok (2000).
WINDOW = 200000
TTL = 300000
def msg(id, input_tokens, output_tokens, text):
    return {"id": id, "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}
def sent(body, config=None):
    b = dict(body)
    b["credit_pool"] = "programmatic"
    return b
def nbytes(v): return len(json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode())
def create_body(messages, **extra):
    return dict(BODY, messages=messages, thread={"type": "create"}, **extra)
def continue_body(previous, messages, **extra):
    return dict(BODY, messages=messages, thread={"type": "continue", "previous_message_id": previous}, **extra)
def ok(m): return {"retries_taken": 0, "status": 200, "headers": H, "body": json.dumps(m)}
def thread_after(bound, m):
    u = m["usage"]
    return max(bound, u["input_tokens"]) + u["output_tokens"] + nbytes(m["content"])
def cost(m, in_rate=1000): return m["usage"]["input_tokens"] * in_rate + m["usage"]["output_tokens"] * 5000
NOT_FOUND = json.dumps({"type": "error", "error": {"type": "not_found_error", "message": "No thread found for previous_message_id.", "details": {"error_code": "thread_not_found"}}})
UNKNOWN_AMOUNT = WINDOW * 2000 + 100 * 5000 + UNKNOWN_TOOLS
U1 = {"role": "user", "content": "What is the weather in Paris?"}
A1 = {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}]}
U2 = {"role": "user", "content": "And in Rome?"}
U3 = {"role": "user", "content": "Thanks."}

def calls_case(name, calls, expected, config=None):
    inp = {"pool": POOL, "start_ms": START, "config": config or {"agent": "researcher"}, "calls": calls}
    cases.append({"name": name, "input": inp, "expected": expected})

# create -> continue -> continue
c1 = create_body([U1]); m1 = msg("msg_t1", 20, 6, "Let me check.")
k1 = continue_body("msg_t1", [U2]); m2 = msg("msg_t2", 60, 8, "Rome is sunny.")
k2 = continue_body("msg_t2", [U3]); m3 = msg("msg_t3", 90, 4, "Welcome.")
b1 = nbytes(sent(c1)); a1 = b1 * 1000 + 100 * 5000
t1 = thread_after(b1, m1)
b2 = t1 + nbytes(sent(k1)); a2 = b2 * 1000 + 100 * 5000
t2 = thread_after(b2, m2)
b3 = t2 + nbytes(sent(k2)); a3 = b3 * 1000 + 100 * 5000
calls_case("a thread create, then two continues: each continue is reserved at the thread's input so far plus its own body, far below the context window",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": 1000, "body": k1, "attempts": [ok(m2)]}, {"advance_ms": 1000, "body": k2, "attempts": [ok(m3)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "done"]}, {"amount": a3, "actions": ["send", "done"]}],
     "pool_ops": ["reserve", "settle"] * 3,
     "ledger": [{"kind": "settle", "cost": cost(m), "estimated": False} for m in (m1, m2, m3)],
     "pool": {"settled": sum(cost(m) for m in (m1, m2, m3)), "reserved": 0}})
assert a2 < UNKNOWN_AMOUNT // 100

# The thread's input bound never falls below the input the response was billed.
mbig = msg("msg_t1", 5000, 6, "Let me check.")
tb = max(b1, 5000) + 6 + nbytes(mbig["content"])
calls_case("a thread whose response billed more input than the request's bound (a server tool, say) is bounded from the input billed",
    [{"body": c1, "attempts": [ok(mbig)]}, {"advance_ms": 1000, "body": k1, "attempts": []}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": (tb + nbytes(sent(k1))) * 1000 + 100 * 5000, "actions": []}]})

# A create whose system asks for the 1-hour cache: every continue of the
# thread is priced at the 1-hour cache-write rate.
cs = create_body([U1], system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
bs = nbytes(sent(cs)); ts = thread_after(bs, m1)
calls_case("a thread created with a 1-hour cache_control: its continues are priced at the 1-hour cache-write rate",
    [{"body": cs, "attempts": [ok(m1)]}, {"advance_ms": 1000, "body": k1, "attempts": []}],
    {"calls": [{"amount": bs * 2000 + 100 * 5000, "actions": ["send", "done"]}, {"amount": (ts + nbytes(sent(k1))) * 2000 + 100 * 5000, "actions": []}]})
cs5 = create_body([U1], system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}])
bs5 = nbytes(sent(cs5)); ts5 = thread_after(bs5, m1)
calls_case("a thread created with a 5-minute cache_control: its continues are priced at the 5-minute cache-write rate",
    [{"body": cs5, "attempts": [ok(m1)]}, {"advance_ms": 1000, "body": k1, "attempts": []}],
    {"calls": [{"amount": bs5 * 1250 + 100 * 5000, "actions": ["send", "done"]}, {"amount": (ts5 + nbytes(sent(k1))) * 1250 + 100 * 5000, "actions": []}]})

# Unknown continues.
calls_case("a continue from a message the book has never seen is reserved at the model's context window (1-hour cache-write rate)",
    [{"body": continue_body("msg_elsewhere", [U2]), "attempts": [ok(m2)]}],
    {"calls": [{"amount": UNKNOWN_AMOUNT, "actions": ["send", "done"]}], "ledger": [{"kind": "settle", "cost": cost(m2), "estimated": False}]})
calls_case("with unknown_thread refuse, a continue from a message the book has never seen is refused before anything is sent",
    [{"body": continue_body("msg_elsewhere", [U2]), "attempts": [ok(m2)]}],
    {"calls": [{"error": "unknown_thread"}], "pool_ops": [], "ledger": [], "pool": {"settled": 0, "reserved": 0}},
    config={"agent": "researcher", "unknown_thread": "refuse"})
calls_case("with unknown_thread refuse, a continue from a known thread is still reserved at its tight bound",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": 1000, "body": k1, "attempts": [ok(m2)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "done"]}]},
    config={"agent": "researcher", "unknown_thread": "refuse"})

# Expiry: 5 minutes after the request that produced the message.
calls_case("a continue within 5 minutes of the thread's last request is bounded by the thread",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL - 1000, "body": k1, "attempts": []}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": []}]})
calls_case("a continue more than 5 minutes after the thread's last request: the thread expired, reserved at the context window",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL, "body": k1, "attempts": []}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": UNKNOWN_AMOUNT, "actions": []}]})
calls_case("with unknown_thread refuse, a continue of an expired thread is refused",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL, "body": k1, "attempts": []}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"error": "unknown_thread"}]},
    config={"agent": "researcher", "unknown_thread": "refuse"})

# 404 thread_not_found: released (the SDK does not retry a 404), the thread
# forgotten; the SDK replays the whole conversation with a new create, whose
# own continue is bounded tightly again.
replay = create_body([U1, {"role": "assistant", "content": m1["content"]}, U2]); m4 = msg("msg_t4", 70, 8, "Rome is sunny.")
br = nbytes(sent(replay)); ar = br * 1000 + 100 * 5000
tr = thread_after(br, m4)
k3 = continue_body("msg_t4", [U3]); a4 = (tr + nbytes(sent(k3))) * 1000 + 100 * 5000
calls_case("a continue answered 404 thread_not_found is released and its thread forgotten; the SDK's replay (a new create) and its continue are exact and tight",
    [{"body": c1, "attempts": [ok(m1)]},
     {"advance_ms": 1000, "body": k1, "attempts": [{"retries_taken": 0, "status": 404, "headers": H, "body": NOT_FOUND}]},
     {"advance_ms": 10, "body": replay, "attempts": [ok(m4)]},
     {"advance_ms": 1000, "body": k3, "attempts": [ok(m3)]},
     {"advance_ms": 1000, "body": continue_body("msg_t1", [U2]), "attempts": []}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "done"]}, {"amount": ar, "actions": ["send", "done"]},
               {"amount": a4, "actions": ["send", "done"]}, {"amount": UNKNOWN_AMOUNT, "actions": []}],
     "pool_ops": ["reserve", "settle", "reserve", "release", "reserve", "settle", "reserve", "settle"],
     "ledger": [{"kind": "settle", "cost": cost(m1), "estimated": False}, {"kind": "release", "cost": 0, "estimated": False},
                {"kind": "settle", "cost": cost(m4), "estimated": False}, {"kind": "settle", "cost": cost(m3), "estimated": False}],
     "pool": {"reserved": 0}})

# A streamed create is recorded from the stream (message_start's id, the
# cumulative usage of message_delta, the content accumulated from the deltas).
sc = dict(c1, stream=True)
bsc = nbytes(sent(sc))
tsc = max(bsc, 10) + 7 + nbytes([{"type": "text", "text": "Hello"}])
k_s = continue_body("msg_2", [U2])
calls_case("a streamed thread create is recorded from its stream: its continue is bounded by the thread",
    [{"body": sc, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": SSE}]},
     {"advance_ms": 1000, "body": k_s, "attempts": []}],
    {"calls": [{"amount": bsc * 1000 + 100 * 5000, "actions": ["send", "done"]}, {"amount": (tsc + nbytes(sent(k_s))) * 1000 + 100 * 5000, "actions": []}],
     "ledger": [{"kind": "settle", "cost": 10 * 1000 + 7 * 5000, "estimated": False}]})

# A response that never completed is not on the book: its continue is unknown.
calls_case("a thread create whose stream was abandoned is not recorded: a continue from it is unknown",
    [{"body": dict(c1, stream=True), "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "chunks": SSE[:3], "end": False}]},
     {"advance_ms": 1000, "body": continue_body("msg_2", [U2]), "attempts": []}],
    {"calls": [{"amount": nbytes(sent(dict(c1, stream=True))) * 1000 + 100 * 5000, "actions": ["send", "done"]}, {"amount": UNKNOWN_AMOUNT, "actions": []}]})

# ---- The book kept in the pool store (`"threads": "pool"`): the meter asks
# the store for a continue's thread (`thread_lookup`, before its reserve) and
# records each response on a thread after its settle (`thread_record`), so
# that every process sharing the pool bounds the continues of the others.
# The bounds are those of the in-process book; a 404 leaves the entry to
# expire (the API bills nothing for a continue it cannot serve).
def pool_case(name, calls, expected, config=None):
    inp = {"pool": POOL, "start_ms": START, "config": config or {"agent": "researcher"}, "threads": "pool", "calls": calls}
    cases.append({"name": name, "input": inp, "expected": expected})

REC = ["reserve", "settle", "thread_record"]
pool_case("the pool's book: a thread create, then two continues, each looked up in the pool store and reserved at the thread's input so far plus its own body",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": 1000, "body": k1, "attempts": [ok(m2)]}, {"advance_ms": 1000, "body": k2, "attempts": [ok(m3)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "done"]}, {"amount": a3, "actions": ["send", "done"]}],
     "pool_ops": REC + ["thread_lookup"] + REC + ["thread_lookup"] + REC,
     "ledger": [{"kind": "settle", "cost": cost(m), "estimated": False} for m in (m1, m2, m3)],
     "pool": {"settled": sum(cost(m) for m in (m1, m2, m3)), "reserved": 0}})
pool_case("the pool's book: a continue from a message the pool has never seen is reserved at the model's context window",
    [{"body": continue_body("msg_elsewhere", [U2]), "attempts": [ok(m2)]}],
    {"calls": [{"amount": UNKNOWN_AMOUNT, "actions": ["send", "done"]}], "pool_ops": ["thread_lookup"] + REC,
     "ledger": [{"kind": "settle", "cost": cost(m2), "estimated": False}]})
pool_case("the pool's book, unknown_thread refuse: a continue the pool has never seen is refused after its lookup, before anything is reserved or sent",
    [{"body": continue_body("msg_elsewhere", [U2]), "attempts": [ok(m2)]}],
    {"calls": [{"amount": 0, "actions": [{"error": "unknown_thread"}]}], "pool_ops": ["thread_lookup"], "ledger": [], "pool": {"settled": 0, "reserved": 0}},
    config={"agent": "researcher", "unknown_thread": "refuse"})
pool_case("the pool's book: a continue within 5 minutes of the thread's last request is bounded by the thread",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL - 1000, "body": k1, "attempts": [ok(m2)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "done"]}]})
pool_case("the pool's book: 5 minutes after the thread's last request the entry expired, the continue is reserved at the context window",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL, "body": k1, "attempts": [ok(m2)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": UNKNOWN_AMOUNT, "actions": ["send", "done"]}]})
pool_case("the pool's book, unknown_thread refuse: a continue of an expired thread is refused",
    [{"body": c1, "attempts": [ok(m1)]}, {"advance_ms": TTL, "body": k1, "attempts": [ok(m2)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": 0, "actions": [{"error": "unknown_thread"}]}],
     "pool_ops": REC + ["thread_lookup"]},
    config={"agent": "researcher", "unknown_thread": "refuse"})
pool_case("the pool's book: a continue answered 404 is released, the SDK's retry of the same call keeps its bound without a second lookup, and the entry stays until it expires",
    [{"body": c1, "attempts": [ok(m1)]},
     {"advance_ms": 1000, "body": k1, "attempts": [{"retries_taken": 0, "status": 529, "headers": H, "body": ERR529}, {"retries_taken": 1, "status": 404, "headers": H, "body": NOT_FOUND}]},
     {"advance_ms": 1000, "body": k1, "attempts": [ok(m2)]}],
    {"calls": [{"amount": a1, "actions": ["send", "done"]}, {"amount": a2, "actions": ["send", "idle", "send", "done"]}, {"amount": a2, "actions": ["send", "done"]}],
     "pool_ops": REC + ["thread_lookup", "reserve", "release"] + ["thread_lookup"] + REC})

# ---- Code execution container time (pricing/container.rs). Without a web
# search or fetch tool dated 20260209 or later, code execution is billed by
# container time: $0.05 per container-hour (50,000,000 nano-USD), minimum 5
# minutes. The response reports calls, not time, so `container_minutes`
# (default 5) is reserved and, when the tool ran or files were preloaded
# (container_upload), settled, flagged estimated. claude-haiku-4-5's tool-use
# system prompt (tool_choice auto) is 496 tokens; code execution has no
# definition tokens in the table.
def container(minutes): return -(-minutes * 50000000 // 60)
CE = {"type": "code_execution_20250825", "name": "code_execution"}
def tool_body(tools, content="hi"): return dict(BODY, tools=tools, messages=[{"role": "user", "content": content}])
def tool_amount(body, minutes=None, searches=0):
    n = nbytes(dict(body, credit_pool="programmatic"))
    return (n + 496) * 1000 + 100 * 5000 + searches * 10000000 + (container(minutes) if minutes else 0)
def ce_ok(calls): return {"retries_taken": 0, "status": 200, "headers": H, "body": json.dumps({"id": "msg_ce", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5, "server_tool_use": {"web_search_requests": 0, "code_execution_requests": calls}}})}
ce = tool_body([CE])
case("code execution alone is billed by container time: 5 minutes reserved; the tool ran, so 5 minutes settled, flagged estimated",
     {"body": ce, "attempts": [ce_ok(2)]},
     {"amount": tool_amount(ce, 5), "actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 35000 + container(5), "estimated": True}]})
case("code execution alone, not called and no files: no container time settled",
     {"body": ce, "attempts": [ce_ok(0)]},
     {"amount": tool_amount(ce, 5), "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
ce_files = tool_body([CE], [{"type": "text", "text": "sum the column"}, {"type": "container_upload", "file_id": "file_1"}])
case("files preloaded onto the container (container_upload) are billed even if the tool is not called",
     {"body": ce_files, "attempts": [ce_ok(0)]},
     {"amount": tool_amount(ce_files, 5), "ledger": [{"kind": "settle", "cost": 35000 + container(5), "estimated": True}]})
ws_new = tool_body([CE, {"type": "web_search_20260209", "name": "web_search", "max_uses": 1}])
case("with web_search_20260209 code execution is free: tokens only, at reserve and settle",
     {"body": ws_new, "attempts": [ce_ok(3)]},
     {"amount": tool_amount(ws_new, None, 1), "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
wf_new = tool_body([CE, {"type": "web_fetch_20260209", "name": "web_fetch"}])
case("with web_fetch_20260209 code execution is free too",
     {"body": wf_new, "attempts": [ce_ok(1)]},
     {"amount": tool_amount(wf_new), "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
ws_old = tool_body([CE, {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}])
case("an older web_search_20250305 does not make code execution free: container time reserved and settled",
     {"body": ws_old, "attempts": [ce_ok(1)]},
     {"amount": tool_amount(ws_old, 5, 1), "ledger": [{"kind": "settle", "cost": 35000 + container(5), "estimated": True}]})
case("container_minutes raised to 90 for long-running code: 90 minutes reserved and settled",
     {"config": {"agent": "researcher", "container_minutes": 90}, "body": ce, "attempts": [ce_ok(1)]},
     {"amount": tool_amount(ce, 90), "ledger": [{"kind": "settle", "cost": 35000 + container(90), "estimated": True}]})
case("container_minutes below the 5-minute billing minimum is a typed error before anything is sent",
     {"config": {"agent": "researcher", "container_minutes": 4}, "body": ce, "attempts": []},
     {"error": "invalid_container_minutes"})
case("container_minutes above 30 days is a typed error",
     {"config": {"agent": "researcher", "container_minutes": 43201}, "body": BODY, "attempts": []},
     {"error": "invalid_container_minutes"})

# ---- A thread's tools on its continues. A continue carries no `tools`: the
# API uses the create's, so every continue can make the create's web searches
# (max_uses each, $10 per 1000 = 10,000,000 nano-USD a search) and, when the
# create's code execution is container-billed, run container time. The book
# keeps those facts with the thread (ThreadTools): each continue is reserved
# at the thread's input bound plus its body, plus the searches and the
# container time; its settle counts the searches the usage reports and, when
# the tool ran, the container time (flagged estimated). The tools' tokens
# (system prompt, definitions) are already in the thread's input bound.
def stu_msg(id, input_tokens, output_tokens, text, searches=0, ce_calls=0):
    m = msg(id, input_tokens, output_tokens, text)
    m["usage"]["server_tool_use"] = {"web_search_requests": searches, "code_execution_requests": ce_calls}
    return m
def stu_cost(m, minutes=None):
    stu = m["usage"]["server_tool_use"]
    return cost(m) + stu["web_search_requests"] * 10000000 + (container(minutes) if minutes and stu["code_execution_requests"] > 0 else 0)
def continue_amount(thread_tokens, k, searches=0, minutes=None):
    return (thread_tokens + nbytes(sent(k))) * 1000 + 100 * 5000 + searches * 10000000 + (container(minutes) if minutes else 0)
WS3 = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
cw = create_body([U1], tools=[WS3]); bw = nbytes(sent(cw)) + 496
mw1 = stu_msg("msg_w1", 20, 6, "Let me check.", searches=2); tw1 = thread_after(bw, mw1)
kw1 = continue_body("msg_w1", [U2]); bw2 = tw1 + nbytes(sent(kw1))
mw2 = stu_msg("msg_w2", 60, 8, "Rome is sunny.", searches=3); tw2 = thread_after(bw2, mw2)
kw2 = continue_body("msg_w2", [U3]); mw3 = stu_msg("msg_w3", 90, 4, "Welcome.")
ws_expected = lambda rec: {
    "calls": [{"amount": tool_amount(cw, None, 3), "actions": ["send", "done"]},
              {"amount": continue_amount(tw1, kw1, searches=3), "actions": ["send", "done"]},
              {"amount": continue_amount(tw2, kw2, searches=3), "actions": ["send", "done"]}],
    "pool_ops": (REC + ["thread_lookup"]) * 2 + REC if rec else ["reserve", "settle"] * 3,
    "ledger": [{"kind": "settle", "cost": stu_cost(m), "estimated": False} for m in (mw1, mw2, mw3)],
    "pool": {"settled": sum(stu_cost(m) for m in (mw1, mw2, mw3)), "reserved": 0}}
ws_calls = [{"body": cw, "attempts": [ok(mw1)]}, {"advance_ms": 1000, "body": kw1, "attempts": [ok(mw2)]}, {"advance_ms": 1000, "body": kw2, "attempts": [ok(mw3)]}]
calls_case("a thread created with web search (max_uses 3): each continue (no tools in its body) is reserved with the create's 3 searches, carried from continue to continue; the settles count the searches the usage reports",
    ws_calls, ws_expected(False))
pool_case("the pool's book keeps the thread's tools: a continue of a thread created with web search (max_uses 3) is reserved with its 3 searches",
    ws_calls, ws_expected(True))

cc = create_body([U1], tools=[CE]); bc = nbytes(sent(cc)) + 496
mc1 = stu_msg("msg_c1", 20, 6, "Running it.", ce_calls=1); tc1 = thread_after(bc, mc1)
kc1 = continue_body("msg_c1", [U2]); bc2 = tc1 + nbytes(sent(kc1))
mc2 = stu_msg("msg_c2", 60, 8, "Done.", ce_calls=2); tc2 = thread_after(bc2, mc2)
mc3 = stu_msg("msg_c3", 90, 4, "Nothing to run.", ce_calls=0)
kc2 = continue_body("msg_c2", [U3])
ce_calls = [{"body": cc, "attempts": [ok(mc1)]}, {"advance_ms": 1000, "body": kc1, "attempts": [ok(mc2)]}, {"advance_ms": 1000, "body": kc2, "attempts": [ok(mc3)]}]
def ce_expected(minutes, rec):
    return {"calls": [{"amount": tool_amount(cc, minutes), "actions": ["send", "done"]},
                      {"amount": continue_amount(tc1, kc1, minutes=minutes), "actions": ["send", "done"]},
                      {"amount": continue_amount(tc2, kc2, minutes=minutes), "actions": ["send", "done"]}],
            **({"pool_ops": (REC + ["thread_lookup"]) * 2 + REC} if rec else {}),
            "ledger": [{"kind": "settle", "cost": stu_cost(mc1, minutes), "estimated": True}, {"kind": "settle", "cost": stu_cost(mc2, minutes), "estimated": True},
                       {"kind": "settle", "cost": stu_cost(mc3, minutes), "estimated": False}],
            "pool": {"settled": stu_cost(mc1, minutes) + stu_cost(mc2, minutes) + stu_cost(mc3, minutes), "reserved": 0}}
calls_case("a thread created with code execution billed by container time: each continue is reserved with the container time, and settled with it when the tool ran (flagged estimated), without it when it did not",
    ce_calls, ce_expected(5, False))
calls_case("container_minutes 90 applies to a container-billed thread's continues too",
    ce_calls, ce_expected(90, False), config={"agent": "researcher", "container_minutes": 90})
pool_case("the pool's book keeps the thread's container billing: its continues are reserved and settled with the container time",
    ce_calls, ce_expected(5, True))

cf = create_body([U1], tools=[CE, {"type": "web_search_20260209", "name": "web_search", "max_uses": 1}]); bf = nbytes(sent(cf)) + 496
mf1 = stu_msg("msg_f1", 20, 6, "Let me check.", searches=1, ce_calls=1); tf1 = thread_after(bf, mf1)
kf1 = continue_body("msg_f1", [U2]); mf2 = stu_msg("msg_f2", 60, 8, "Rome is sunny.", searches=1, ce_calls=1)
calls_case("a thread created with code execution beside web_search_20260209 (max_uses 1): its continues are reserved with the one search and no container time, and settled without container time",
    [{"body": cf, "attempts": [ok(mf1)]}, {"advance_ms": 1000, "body": kf1, "attempts": [ok(mf2)]}],
    {"calls": [{"amount": tool_amount(cf, None, 1), "actions": ["send", "done"]}, {"amount": continue_amount(tf1, kf1, searches=1), "actions": ["send", "done"]}],
     "ledger": [{"kind": "settle", "cost": stu_cost(mf1), "estimated": False}, {"kind": "settle", "cost": stu_cost(mf2), "estimated": False}]})

doc = ({"kind": "meter", "description": "The books of one call made through an official SDK's middleware (creditpool_core::meter::Meter): one hold per call across the SDK's retries, settled from the JSON usage or a copy of the stream, certainly-unbilled failures released, possibly-billed ones settled at the worst case flagged estimated. Costs by hand: claude-haiku-4-5 bills 1000 nano-USD per input token and 5000 per output token; AMOUNT is the case's reserved worst case (`amount`). A case with `calls` runs several calls through one middleware (one ThreadBook, one pool; `advance_ms` moves the clock before a call) and expects each call's `amount` and `actions` (or `error`) under `calls`: message threads.", "cases": cases})

from pathlib import Path

for c in doc["cases"]:
    if "calls" in c["input"] or "error" in c["expected"] or "amount" in c["expected"] or c["input"]["body"].get("thread", {}).get("type") == "continue":
        continue
    b = dict(c["input"]["body"])
    sel = c["input"]["config"].get("pool_selector")
    if sel is not False:
        if isinstance(sel, dict):
            b[sel["field"]] = sel["value"]
        else:
            b["credit_pool"] = "programmatic"
    n = len(json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode())
    amount = n * 1000 + b["max_tokens"] * 5000
    c["expected"]["amount"] = amount
    c["expected"] = json.loads(json.dumps(c["expected"]).replace('"AMOUNT"', str(amount)))

out = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "meter" / "meter.json"
out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
