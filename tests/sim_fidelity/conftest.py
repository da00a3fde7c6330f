"""Starts one creditpool-sim process for the session (the binary named by
CREDITPOOL_SIM_BIN, which run.sh builds) and resets it before every test."""

import json
import os
import subprocess
import urllib.request

import anthropic
import pytest

KEY = "sk-fidelity-test"


def pytest_report_header(config):
    return f"anthropic SDK {anthropic.__version__}"


class Sim:
    def __init__(self, url):
        self.url = url

    def control(self, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        method = "GET" if data is None and path == "/_sim/usage" else "POST"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def scenario(self, steps):
        return self.control("/_sim/scenario", {"steps": steps})

    def usage(self):
        return self.control("/_sim/usage")

    def client(self, **kwargs):
        kwargs.setdefault("api_key", KEY)
        return anthropic.Anthropic(base_url=self.url, **kwargs)


@pytest.fixture(scope="session")
def sim_process():
    binary = os.environ.get("CREDITPOOL_SIM_BIN")
    if not binary:
        pytest.fail("CREDITPOOL_SIM_BIN is not set; run tests/sim_fidelity/run.sh")
    proc = subprocess.Popen(
        [binary, "--port", "0", "--keys", KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    prefix = "listening on "
    assert line.startswith(prefix), f"unexpected first line: {line!r}"
    yield Sim(line[len(prefix):].strip())
    # Closing stdin stops the simulator.
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


@pytest.fixture
def sim(sim_process):
    sim_process.control("/_sim/reset")
    sim_process.scenario([])
    return sim_process
