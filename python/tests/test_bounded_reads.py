"""Bounded reads: the driver reads a whole body only up to the call's
``max_body_bytes`` (and one byte more, for the core to say ``too_large``),
counting decoded bytes, so a huge body or a compression bomb fails typed with
little memory."""

from __future__ import annotations

import http.server
import resource
import threading
import zlib
from typing import Any, Iterator

import httpx2
import pytest

import creditpool as cp
from creditpool import _creditpool
from creditpool._config import Timeouts
from creditpool._driver import Endpoint, drive, play, take_result

MIB = 1024 * 1024
CHUNK = b"x" * MIB


def _bomb(inflated_mib: int) -> bytes:
    """gzip of ``inflated_mib`` MiB of zeros (about 1/1000 of that)."""
    c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MIB)
    out = [c.compress(zeros) for _ in range(inflated_mib)]
    out.append(c.flush())
    return b"".join(out)


BOMB = _bomb(300)


class _Big(http.server.BaseHTTPRequestHandler):
    """``/big``: 50 MiB of identity body; ``/bomb``: a gzip body that
    inflates to 300 MiB. Either with a JSON content type and status 200."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        try:
            if self.path.endswith("/bomb") or "bomb" in self.path:
                self.send_header("content-encoding", "gzip")
                self.send_header("content-length", str(len(BOMB)))
                self.end_headers()
                self.wfile.write(BOMB)
            else:
                self.send_header("content-length", str(50 * MIB))
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """The client hangs up mid-body on purpose: nothing to report."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = _Server(("127.0.0.1", 0), _Big)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize("path", ["/big", "/bomb"])
def test_a_huge_body_or_a_gzip_bomb_fails_typed_in_little_memory(server: str, path: str) -> None:
    builder = _creditpool.RequestBuilder("k", {})
    request = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}
    call = _creditpool.MessagesCall(builder, request, {"stream": False, "max_body_bytes": MIB, "retry": {"max_retries": 0}})
    assert call.max_body_bytes == MIB
    before = _maxrss_mib()
    with httpx2.Client() as http:
        endpoint = Endpoint(http, server + path, Timeouts(connect=10, read=60, write=60, pool=10, stream_idle=60))
        for _ in drive(endpoint, play(call), lambda step: None):
            pass
    with pytest.raises(cp.ResponseParseError) as e:
        take_result(call)
    assert e.value.reason == "too_large", (e.value.code, e.value.reason, str(e.value))
    grown = _maxrss_mib() - before
    assert grown < 64, f"peak memory grew by {grown:.0f} MiB"


def test_the_client_refuses_a_gzip_bomb(server: str) -> None:
    with cp.Client(api_key="k", base_url=server + "/v1/bomb", max_retries=0) as client:
        with pytest.raises(cp.ResponseParseError) as e:
            client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert e.value.reason == "too_large"


def test_gzip_and_deflate_bodies_are_decoded_in_small_pieces() -> None:
    """The decoding itself: gzip, zlib deflate and raw deflate come out
    whole, in pieces of at most 64 KiB however much one raw chunk inflates."""
    from creditpool._driver import _Decoder

    body = b'{"ok": true}' * 1000
    for enc, data in (("gzip", zlib.compress(body, wbits=zlib.MAX_WBITS | 16)), ("deflate", zlib.compress(body)), ("deflate", zlib.compress(body, wbits=-zlib.MAX_WBITS))):
        d = _Decoder(httpx2.Response(200, headers={"content-encoding": enc}))
        out = b"".join([*d.decode(data[:10]), *d.decode(data[10:]), *d.flush()])
        assert out == body, enc
    d = _Decoder(httpx2.Response(200, headers={"content-encoding": "gzip"}))
    pieces = d.decode(BOMB[:4096])
    sizes = [len(next(pieces)) for _ in range(3)]
    assert sizes == [64 * 1024] * 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_refuses_a_huge_body(server: str) -> None:
    """Through ``AsyncClient`` (the default cap, 32 MiB): the typed error."""
    async with cp.AsyncClient(api_key="k", base_url=server + "/v1/big", max_retries=0) as client:
        with pytest.raises(cp.ResponseParseError) as e:
            await client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hi"}])
    assert e.value.reason == "too_large"
