"""Issue 13 item 6 in Python: one convention for the server and the key, the
official SDKs' (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``; unset or empty
means the API), the same as Rust (crates/creditpool/tests/first_hour_config.rs)
and JS (js/test/first-hour-config.test.js)."""

from __future__ import annotations

import json
import urllib.request

import pytest

import creditpool as cp

MODEL = "claude-haiku-4-5"
HI = [{"role": "user", "content": "Hi"}]


def test_client_reads_anthropic_base_url_and_key(sim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    monkeypatch.delenv("CREDITPOOL_BASE_URL", raising=False)
    with cp.Client() as client:
        assert client.base_url == sim
        client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    with urllib.request.urlopen(sim + "/_sim/requests", timeout=10) as resp:
        assert len(json.loads(resp.read())) == 1  # it went to the simulator


def test_an_empty_variable_means_the_api_and_code_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")
    assert cp.Client(api_key="k").base_url == "https://api.anthropic.com"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    assert cp.Client(api_key="k", base_url="http://127.0.0.1:8").base_url == "http://127.0.0.1:8"


def test_no_key_anywhere_is_a_typed_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(cp.RequestBuildError, match="ANTHROPIC_API_KEY") as e:
        cp.Client(base_url="http://127.0.0.1:9").messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert e.value.code == "missing_api_key"


def test_a_base_url_follows_the_cores_one_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same rule in Rust and JS: given wins, trailing slashes go, a URL
    # that is not absolute http(s) is refused saying where it came from.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.test/anthropic/")
    assert cp.Client(api_key="k").base_url == "https://proxy.test/anthropic"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "localhost:8080")
    with pytest.raises(cp.InvalidOptionsError, match=r"\(from ANTHROPIC_BASE_URL\)") as e:
        cp.Client(api_key="k")
    assert e.value.code == "invalid_base_url"
    with pytest.raises(cp.InvalidOptionsError) as e:
        cp.Client(api_key="k", base_url="ftp://x.test")
    assert e.value.code == "invalid_base_url" and "from ANTHROPIC_BASE_URL" not in str(e.value)
