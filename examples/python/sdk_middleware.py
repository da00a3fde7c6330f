"""An existing program written for the official ``anthropic`` SDK, drawing on a
creditpool credit pool through one added line: the middleware.

Run it against the offline simulator (``cargo run -p creditpool-sim``; set
``ANTHROPIC_BASE_URL`` to the URL it prints and ``ANTHROPIC_API_KEY`` to any
non-empty value) or against the real API with a real key. Needs
``pip install 'creditpool[sdk]'``. ``python/tests/test_middleware_example.py``
runs it against the simulator.
"""

from __future__ import annotations


import anthropic

import creditpool

pool = creditpool.Pool(limit=creditpool.usd(5))  # $5 per monthly cycle, shared by every agent

# The one added line: every messages.create / messages.stream of this client
# reserves its worst case first, and settles its exact cost from the usage.
client = anthropic.Anthropic(middleware=[creditpool.middleware(pool, agent="researcher")])

message = client.messages.create(
    model="claude-haiku-4-5",
    max_tokens=300,
    messages=[{"role": "user", "content": "Say hello in five words."}],
)
print(message.content[0].text if message.content[0].type == "text" else message.content[0].type)

with client.messages.stream(
    model="claude-haiku-4-5",
    max_tokens=300,
    messages=[{"role": "user", "content": "Count to three."}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    print()

# count_tokens and every other endpoint pass through untouched.
counted = client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "How many?"}])
print(f"count_tokens: {counted.input_tokens} input tokens (not metered)")

for entry in pool.ledger():
    print(f"ledger: {entry.kind} {entry.agent} {entry.request_id} {entry.cost}")
print(f"pool: settled {pool.settled}, reserved {pool.reserved}")

# A pool that cannot cover the worst case refuses before anything is sent,
# with creditpool's typed error (not a connection error).
tiny = anthropic.Anthropic(middleware=[creditpool.middleware(creditpool.Pool(limit=creditpool.nanos(1000)), agent="intern")])
try:
    tiny.messages.create(model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": "Hi"}])
except creditpool.PoolRefusedError as e:
    print(f"refused by the pool ({e.code})")
