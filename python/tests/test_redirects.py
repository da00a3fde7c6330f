"""Issue 10 item 9: a redirect is never followed. A local server answers
301/302/307/308 pointing at a second local server; the Python client (sync
and async, create, stream and count_tokens) raises the typed API error that
names the status, does not retry it, and the second server sees no request,
so the key never leaves for another origin."""

from __future__ import annotations

import asyncio
import http.server
import threading
from typing import Any, Callable, Iterator

import pytest

import creditpool as cp

KEY = "sk-redirect-test-KEY-4242"
MODEL = "claude-haiku-4-5"
ARGS: dict[str, Any] = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


class _Server:
    """A ThreadingHTTPServer whose handler records each request's path and
    headers and answers with ``answer(path)``: (status, headers)."""

    def __init__(self, answer: Any) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers = answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target() -> Iterator[_Server]:
    server = _Server(lambda path: (200, {"content-type": "application/json"}))
    yield server
    server.close()


def _redirecting(status: int, target: _Server) -> _Server:
    return _Server(lambda path: (status, {"location": f"{target.url}{path}", "request-id": f"req_{status}"}))


def _check(e: BaseException, status: int, server: _Server) -> None:
    assert isinstance(e, cp.APIError), f"{status}: {type(e).__name__}: {e}"
    assert e.status == status
    assert str(status) in str(e), f"the error names the status: {e}"
    assert KEY not in str(e) and KEY not in repr(e)
    assert len(server.requests) == 1, f"{status}: a redirect is not retried ({len(server.requests)} requests)"
    assert server.requests[0][1].get("x-api-key") == KEY, "the request did reach the base URL"
    server.requests.clear()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_sync_client_never_follows_a_redirect(status: int, target: _Server) -> None:
    server = _redirecting(status, target)
    try:
        with cp.Client(api_key=KEY, base_url=server.url, max_retries=3) as client:
            calls: list[Callable[[], Any]] = [
                lambda: client.messages.create(**ARGS),
                lambda: client.messages.stream(**ARGS).final_message(),
                lambda: client.messages.count_tokens(model=MODEL, messages=ARGS["messages"]),
            ]
            for call in calls:
                with pytest.raises(cp.APIError) as info:
                    call()
                _check(info.value, status, server)
    finally:
        server.close()
    assert target.requests == [], "the redirect target saw a request (and the key)"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_async_client_never_follows_a_redirect(status: int, target: _Server) -> None:
    server = _redirecting(status, target)

    async def main() -> None:
        async with cp.AsyncClient(api_key=KEY, base_url=server.url, max_retries=3) as client:
            with pytest.raises(cp.APIError) as info:
                await client.messages.create(**ARGS)
            _check(info.value, status, server)
            with pytest.raises(cp.APIError) as info:
                async with client.messages.stream(**ARGS) as stream:
                    await stream.final_message()
            _check(info.value, status, server)
            with pytest.raises(cp.APIError) as info:
                await client.messages.count_tokens(model=MODEL, messages=ARGS["messages"])
            _check(info.value, status, server)

    try:
        asyncio.run(main())
    finally:
        server.close()
    assert target.requests == [], "the redirect target saw a request (and the key)"
