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
# its 1-hour cache-write rate ($2 / MTok = 2000 nano-USD per token).
THREAD = dict(BODY, thread={"type": "continue", "previous_message_id": "msg_1"})
case("a thread continue request is bounded by the model's context window at the 1-hour cache-write rate",
     {"body": THREAD, "attempts": [{"retries_taken": 0, "status": 200, "headers": H, "body": OK}]},
     {"amount": 200000 * 2000 + 100 * 5000, "actions": ["send", "done"], "pool_ops": ["reserve", "settle"],
      "ledger": [{"kind": "settle", "cost": 35000, "estimated": False}]})
case("a thread create request is bounded by its body as usual",
     {"body": dict(BODY, thread={"type": "create"}), "attempts": []},
     {"actions": []})
case("a body that is not a Messages request is a typed error",
     {"body": {"model": "claude-haiku-4-5"}, "attempts": []},
     {"error": "invalid_request"})
doc = ({"kind": "meter", "description": "The books of one call made through an official SDK's middleware (creditpool_core::meter::Meter): one hold per call across the SDK's retries, settled from the JSON usage or a copy of the stream, certainly-unbilled failures released, possibly-billed ones settled at the worst case flagged estimated. Costs by hand: claude-haiku-4-5 bills 1000 nano-USD per input token and 5000 per output token; AMOUNT is the case's reserved worst case (`amount`).", "cases": cases})

from pathlib import Path

for c in doc["cases"]:
    if "error" in c["expected"] or c["input"]["body"].get("thread", {}).get("type") == "continue":
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
