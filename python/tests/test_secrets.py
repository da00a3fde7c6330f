"""The API key never appears in a ``repr``, an exception's text or a log record,
whatever happens: every error path runs here with logging captured at DEBUG
for every logger (httpx2's and httpcore2's included)."""

from __future__ import annotations

import http.server
import logging
import threading
import traceback
from pathlib import Path
from typing import Any

import httpx2
import pytest

import creditpool as cp
from creditpool import _creditpool
from fakeapi import KEY, FakeAPI, Reply, error_body, message, sse, text_stream_events

MSGS = [{"role": "user", "content": "Hi"}]


def _texts(exc: BaseException) -> list[str]:
    """Every text an exception shows: str, repr, its attributes and its whole
    chain as a formatted traceback."""
    out = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    out += [repr(v) for v in vars(exc).values()]
    for cause in (exc.__cause__, exc.__context__):
        if cause is not None:
            out += [str(cause), repr(cause)]
    return out


def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    api = FakeAPI(
        Reply(body=message()),
        Reply(529, error_body("overloaded_error")),
        Reply(401, error_body("authentication_error", "invalid x-api-key")),
        Reply(raise_exc=httpx2.ConnectError("refused")),
        Reply(raise_exc=httpx2.ReadTimeout("slow")),
        Reply(body=sse(*text_stream_events(stop=False))),
        Reply(body=b"<html>bad gateway</html>", status=502),
        Reply(body=b"not json", status=200),
    )
    client = cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()), max_retries=1)
    client._sleep = lambda s: None
    shown: list[str] = [repr(client), str(client), repr(client._builder), repr(client.messages), repr(client._retry)]
    errors: list[BaseException] = []

    def attempt(fn: Any) -> None:
        try:
            fn()
        except Exception as e:  # every failure is collected and inspected
            errors.append(e)

    attempt(lambda: client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
    attempt(lambda: client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
    attempt(lambda: client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
    client2 = cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()), max_retries=0)
    attempt(lambda: list(client2.messages.stream(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS)))
    attempt(lambda: client2.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
    attempt(lambda: client2.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
    # Errors raised while building requests, with the key in play.
    attempt(lambda: cp.Client(api_key=KEY + "\n\x00bad"))
    attempt(lambda: cp.Client(api_key=KEY, betas=["a,b"]))
    attempt(lambda: cp.Client(api_key=KEY, default_headers={"x-bad": "v\r\nx"}))
    attempt(lambda: client.messages.create(model="", max_tokens=8, messages=MSGS))
    attempt(lambda: _creditpool.RequestBuilder(KEY, {"no_such_option": 1}))
    assert len(errors) >= 9, errors
    kinds = {type(e).__name__ for e in errors}
    assert {"AuthenticationError", "APITimeoutError", "StreamIncompleteError", "RequestBuildError", "InvalidOptionsError", "InternalServerError", "ResponseParseError"} <= kinds, kinds
    for e in errors:
        shown += _texts(e)
    shown += [r.getMessage() for r in caplog.records]
    shown += [repr(r.args) for r in caplog.records]
    shown.append(caplog.text)
    assert any("creditpool" == r.name for r in caplog.records), "the package logs at DEBUG"
    leaks = [s for s in shown if KEY in s or "SECRET" in s]
    assert not leaks, leaks[:3]


def test_builder_options_and_repr_hide_the_key() -> None:
    b = _creditpool.RequestBuilder(KEY, {"betas": ["x"]})
    assert KEY not in repr(b) and KEY not in repr(b.options())
    http = b.messages({"model": "m", "max_tokens": 1, "messages": MSGS})
    assert ("x-api-key", KEY) in http["headers"]  # only the wire value holds it


def test_key_never_leaks_from_pools_and_agents(caplog: pytest.LogCaptureFixture, tmp_path: Any) -> None:
    """The same check over agent runs (success, API errors, transport
    failures, a cut stream, refusals, a budget), the pool's repr, report,
    snapshot, ledger file and alerts, and webhook configuration."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    tool_use = message(content=[{"type": "tool_use", "id": "toolu_1", "name": "echo", "input": {"text": "hi"}}], stop_reason="tool_use")
    api = FakeAPI(
        Reply(body=tool_use),
        Reply(body=message("done")),
        Reply(401, error_body("authentication_error", "invalid x-api-key")),
        Reply(raise_exc=httpx2.ConnectError("refused")),
        Reply(raise_exc=httpx2.ReadTimeout("slow")),
        Reply(body=sse(*text_stream_events(stop=False))),
    )

    @cp.tool
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    seen: list[cp.Alert] = []
    hook = cp.Webhook("http://127.0.0.1:9/hook", "WEBHOOK-SECRET-value", max_retries=0)
    pool = cp.Pool(cp.usd("0.01"), directory=tmp_path, thresholds=[1], on_alert=seen.append, webhooks=[hook])
    client = cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()), max_retries=0)
    client._sleep = lambda s: None
    outcomes = []
    for stream in (False, False, False, False, True):
        agent = cp.Agent(client, [echo], pool, "a", model="claude-sonnet-4-5", max_tokens=16, stream=stream)
        outcomes.append(agent.run("Say hi"))
    refused = cp.Agent(client, [echo], cp.Pool(cp.nanos(1)), "b", model="claude-sonnet-4-5").run("Hi")
    broke = cp.Agent(client, [echo], pool, "c", model="claude-sonnet-4-5", max_spend=cp.nanos(1)).run("Hi")
    statuses = [o.status for o in outcomes + [refused, broke]]
    assert statuses == ["completed", "failed", "failed", "failed", "failed", "pool_refused", "budget_exhausted"], statuses
    assert seen, "the settle crossed the 1 % threshold"
    shown = [repr(agent), repr(pool), repr(hook), repr(client), pool.snapshot(), repr(pool.report()), repr(pool.ledger()), repr(seen)]
    shown += [(tmp_path / name).read_text() for name in ("snapshot.json", "ledger.jsonl")]
    for o in outcomes + [refused, broke]:
        shown.append(repr(o))
        if o.error is not None:
            shown += _texts(o.error)
    run = _creditpool.AgentRun({"agent_id": "x"}, {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": MSGS}, client._builder, client.prices)
    shown.append(repr(run))
    pool.close()  # the webhook's one attempt fails (nothing listens): that path logs too
    assert [r.delivered for r in pool.webhook_results] == [False]
    shown += [repr(r) for r in pool.webhook_results]
    shown += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records] + [caplog.text]
    leaks = [s for s in shown if KEY in s or "SECRET" in s]
    assert not leaks, leaks[:3]


# ----- every other secret: extra headers, webhook URLs and secrets -----

HEADER_SECRET = "hdr-tok-7f3a9c1e5b"
"""An extra header's value (``Authorization: Bearer ...``)."""
URL_PATH_SECRET = "T0AAA/B0BBB/xoxwebhookpathtoken"
"""A Slack-style webhook URL's path: the path is the credential."""
URL_QUERY_SECRET = "qtok-55aa66bb"
"""A token in a webhook URL's query."""
HOOK_SECRET = "whsec-signing-9d8e7f"
"""A webhook's signing secret."""
SECRETS = [KEY, HEADER_SECRET, URL_PATH_SECRET, "xoxwebhookpathtoken", URL_QUERY_SECRET, HOOK_SECRET]


class _Hook(http.server.BaseHTTPRequestHandler):
    """Answers 200 to the first POST, then 500 (so both the delivered and
    the given-up paths log)."""

    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).count += 1
        self.send_response(200 if type(self).count == 1 else 500)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _leaks(shown: list[str]) -> list[str]:
    return [s[:200] for s in shown if any(secret in s for secret in SECRETS)]


def test_no_secret_leaks_anywhere(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """Extra header values, a webhook URL's path and query and its signing
    secret never appear in a repr, a str, a log record (httpx2's request log
    line included), an error, a ``WebhookResult``, the snapshot or the
    ledger file."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    _Hook.count = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/services/{URL_PATH_SECRET}?token={URL_QUERY_SECRET}"
    shown: list[str] = []
    errors: list[BaseException] = []

    def attempt(fn: Any) -> None:
        try:
            fn()
        except Exception as e:  # every failure is collected and inspected
            errors.append(e)

    try:
        headers = {"Authorization": f"Bearer {HEADER_SECRET}", "x-team-token": HEADER_SECRET}
        api = FakeAPI(Reply(body=message()), Reply(401, error_body("authentication_error", "invalid bearer")), Reply(raise_exc=httpx2.ConnectError("refused")))
        client = cp.Client(api_key=KEY, base_url="http://api.test", default_headers=headers, http_client=httpx2.Client(transport=api.transport()), max_retries=0)
        assert "Authorization" in repr(client) and "x-team-token" in repr(client), "header names are shown"
        shown += [repr(client), str(client), repr(client._builder), repr(client._builder.options())]
        for _ in range(3):
            attempt(lambda: client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS))
        assert api.requests[0].headers["authorization"] == f"Bearer {HEADER_SECRET}", "the value is still sent"
        attempt(lambda: cp.Client(api_key=KEY, default_headers={"Authorization": f"Bearer {HEADER_SECRET}\r\nx: y"}))

        hook = cp.Webhook(url, HOOK_SECRET, max_retries=0)
        assert hook.url == hook.origin == f"http://127.0.0.1:{port}"
        shown += [repr(hook), str(hook), hook.url, repr(vars(hook))]
        attempt(lambda: cp.Webhook(f"ftp://example.test/{URL_PATH_SECRET}?token={URL_QUERY_SECRET}", HOOK_SECRET))
        attempt(lambda: cp.Webhook(url, ""))
        pool = cp.Pool(cp.usd("1.00"), thresholds=[10, 20], directory=tmp_path, webhooks=[hook])
        shown.append(repr(pool))
        pool.settle(pool.reserve("a", cp.usd("0.50")), cp.usd("0.15"))  # fires 10 %: delivered
        assert pool.flush(timeout=30)
        pool.settle(pool.reserve("a", cp.usd("0.50")), cp.usd("0.10"))  # fires 20 %: 500, given up
        pool.close()
        results = pool.webhook_results
        assert [r.delivered for r in results] == [True, False], results
        assert {r.url for r in results} == {f"http://127.0.0.1:{port}"}
        shown += [repr(r) for r in results] + [str(r.error) for r in results]
        shown += [pool.snapshot(), repr(pool.alerts()), repr(pool.ledger())]
        shown += [p.read_text() for p in tmp_path.iterdir() if p.is_file()]
    finally:
        server.shutdown()
        server.server_close()
    assert len(errors) >= 5, errors
    assert {type(e).__name__ for e in errors} >= {"AuthenticationError", "APIConnectionError", "RequestBuildError", "InvalidOptionsError"}
    for e in errors:
        shown += _texts(e)
    assert any(r.name == "httpx2" and "HTTP Request" in r.getMessage() for r in caplog.records), "httpx2 logged the delivery"
    assert any(r.name == "creditpool" and "given up" in r.getMessage() for r in caplog.records)
    shown += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records] + [caplog.text]
    leaks = _leaks(shown)
    assert not leaks, leaks[:3]
