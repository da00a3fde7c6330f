"""What the cross-process test scripts (tests/fleet, tests/threads) share:
a free port, a redis-server of their own on 127.0.0.1, and the simulator."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from typing import Any

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server without persistence in ``directory``, once it answers
    PING: the process and its URL."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    probe = redis.Redis.from_url(url)
    for _ in range(500):
        try:
            if probe.ping():
                probe.close()
                return proc, url
        except redis.exceptions.ConnectionError:
            if proc.poll() is not None:
                raise SystemExit(f"redis-server exited with {proc.returncode}")
            time.sleep(0.01)
    raise SystemExit("redis-server did not answer PING")


def start_sim(binary: str, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """creditpool-sim on a free port with ``args``: the process and its URL
    (stopped by closing its stdin)."""
    proc = subprocess.Popen([binary, "--port", "0", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("listening on "):
        raise SystemExit(f"unexpected first line from the simulator: {line!r}")
    return proc, line.removeprefix("listening on ")


def sim_usage(url: str) -> list[dict[str, Any]]:
    """The simulator's usage log (it waits for responses still being sent)."""
    with urllib.request.urlopen(url + "/_sim/usage", timeout=30) as r:
        return list(json.loads(r.read()))
