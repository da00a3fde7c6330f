"""Activity charts: the core's Vega-Lite spec from a pool, a report and a
ledger file; the notebook display; the files (HTML offline or from the CDN,
SVG / PNG through ``creditpool[charts]``, or its typed error); and ``python
-m creditpool activity``."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import creditpool as cp
from poolhelp import T0, USD, FakeClock
from creditpool import _activity
from creditpool import _creditpool as native


def _busy_pool(clock: FakeClock, **kwargs: Any) -> cp.Pool:
    """A pool with two agents, two models and a release."""
    pool = cp.Pool(cp.nanos(10 * USD), thresholds=[25, 50, 100], clock=clock, **kwargs)
    plan = [("researcher", "claude-sonnet-4-5", 2 * USD), ("analyst", "claude-haiku-4-5", USD // 2), ("researcher", "claude-haiku-4-5", USD)]
    for i, (agent, model, cost) in enumerate(plan):
        clock.now += 20_000
        r = pool.reserve(agent, cp.nanos(3 * USD))
        clock.now += 5_000
        pool.settle(r, cp.nanos(cost), attribution={"model": model, "request_id": f"req_{i}"})
    pool.release(pool.reserve("analyst", cp.nanos(USD)))
    return pool


@pytest.fixture(autouse=True)
def no_vega_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide where the Vega bundles come from."""
    monkeypatch.delenv("CREDITPOOL_VEGA_DIR", raising=False)


@pytest.fixture
def without_vl_convert(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if ``creditpool[charts]`` were not installed."""
    monkeypatch.setattr(_activity, "_import_vl_convert", lambda: None)


def _domain(spec: Any, found: set[str]) -> set[str]:
    """Every string of every ``scale.domain`` in the spec."""
    if isinstance(spec, dict):
        scale = spec.get("scale")
        if isinstance(scale, dict) and isinstance(scale.get("domain"), list):
            found.update(x for x in scale["domain"] if isinstance(x, str))
        for v in spec.values():
            _domain(v, found)
    elif isinstance(spec, list):
        for v in spec:
            _domain(v, found)
    return found


def test_report_and_pool_chart_are_the_cores_spec_with_the_pools_thresholds() -> None:
    clock = FakeClock()
    pool = _busy_pool(clock)
    spec = pool.report().chart()
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    assert spec == pool.chart() == native.activity_chart(native.activity_from_pool(pool._native, clock.now))
    assert json.dumps(spec) == json.dumps(spec, sort_keys=True)  # the core's key order
    assert {"analyst", "researcher", "claude-haiku-4-5", "claude-sonnet-4-5"} <= _domain(spec, set())
    activity = pool.report().activity()
    assert [t["percent"] for t in activity["thresholds"]] == [25, 50, 100]
    assert activity["spent"] == 3_500_000_000 and activity["limit"] == 10 * USD
    assert [t["crossed_at_ms"] is not None for t in activity["thresholds"]] == [True, False, False]
    # A report from a bare dict: the default thresholds, as Report::chart() in Rust.
    bare = cp.PoolReport(pool.report().to_dict())
    assert [t["percent"] for t in bare.activity()["thresholds"]] == [50, 75, 90, 100]
    assert bare.chart() == native.activity_chart(native.activity_from_report(pool.report().to_dict()))
    pool.close()


def test_an_empty_pool_draws_its_thresholds() -> None:
    pool = cp.Pool(cp.nanos(USD), clock=FakeClock())
    activity = pool.activity_chart().activity
    assert activity["settles"] == 0 and activity["spent"] == 0
    assert [t["label"].split(" ")[0] for t in activity["thresholds"]] == ["50", "75", "90", "100"]
    assert "No spend yet" in json.dumps(pool.chart())
    pool.close()


def test_notebook_display_is_the_vega_lite_bundle() -> None:
    pool = _busy_pool(FakeClock())
    report = pool.report()
    bundle = report._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.vegalite.v5+json", "text/html", "text/plain"}
    assert bundle[cp.VEGA_LITE_MIME] == report.chart()
    assert bundle["text/plain"] == report.text()
    assert "Pool" in bundle["text/html"] and ".save(" in bundle["text/html"] and "<script" not in bundle["text/html"]
    assert pool._repr_mimebundle_()[cp.VEGA_LITE_MIME] == pool.chart()
    assert set(report._repr_mimebundle_(include=[cp.VEGA_LITE_MIME])) == {cp.VEGA_LITE_MIME}
    assert set(report._repr_mimebundle_(exclude=["text/html"])) == {cp.VEGA_LITE_MIME, "text/plain"}
    chart = pool.activity_chart()
    assert chart._repr_mimebundle_()[cp.VEGA_LITE_MIME] == chart.spec
    pool.close()


def _fake_vega_dir(root: Path) -> Path:
    for name, text in [("vega/build/vega.min.js", "window.FAKE_VEGA=1;"), ("vega-lite/build/vega-lite.min.js", "window.FAKE_VL=1;"), ("vega-embed/build/vega-embed.min.js", "window.FAKE_EMBED=1;")]:
        p = root / "node_modules" / name
        p.parent.mkdir(parents=True)
        p.write_text(text)
    return root / "node_modules"


def test_save_html_inlines_the_bundles_from_a_vega_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vega_dir = _fake_vega_dir(tmp_path)
    report = _busy_pool(FakeClock()).report()
    page = report.save(tmp_path / "activity.html", vega_dir=vega_dir).read_text()
    assert "window.FAKE_VEGA=1;" in page and "window.FAKE_EMBED=1;" in page and "cdn.jsdelivr" not in page
    title = report.activity()["title"]
    assert page == native.standalone_html(report.chart(), title, ("window.FAKE_VEGA=1;", "window.FAKE_VL=1;", "window.FAKE_EMBED=1;"))
    monkeypatch.setenv("CREDITPOOL_VEGA_DIR", str(vega_dir))
    assert "window.FAKE_VL=1;" in report.activity_chart().html()
    with pytest.raises(cp.InvalidOptionsError) as e:
        report.save(tmp_path / "x.html", vega_dir=tmp_path / "nowhere")
    assert e.value.what == "vega_dir"


def test_without_bundles_the_page_uses_the_cdn_and_says_so(tmp_path: Path, without_vl_convert: None) -> None:
    report = _busy_pool(FakeClock()).report()
    with pytest.warns(UserWarning, match="creditpool\\[charts\\]"):
        path = report.save(tmp_path / "activity.html")
    page = path.read_text()
    assert f"https://cdn.jsdelivr.net/npm/vega-lite@{cp._creditpool.VEGA_LITE_VERSION}" in page
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert report.activity_chart().html(offline=False) == page  # asked for: no warning
    with pytest.raises(cp.MissingExtraError):
        report.save(tmp_path / "offline.html", offline=True)


def test_svg_and_png_without_the_extra_raise_a_typed_error(tmp_path: Path, without_vl_convert: None) -> None:
    report = _busy_pool(FakeClock()).report()
    for name in ("activity.png", "activity.svg"):
        with pytest.raises(cp.MissingExtraError) as e:
            report.save(tmp_path / name)
        assert 'pip install "creditpool[charts]"' in str(e.value)
        assert isinstance(e.value, ImportError) and isinstance(e.value, cp.CreditpoolError)
        assert (e.value.code, e.value.extra) == ("missing_extra", "charts")
        assert not (tmp_path / name).exists()
    with pytest.raises(cp.InvalidOptionsError) as bad:
        report.save(tmp_path / "activity.gif")
    assert bad.value.what == "path"


def test_svg_png_and_offline_html_with_the_extra(tmp_path: Path) -> None:
    pytest.importorskip("vl_convert")
    report = _busy_pool(FakeClock()).report()
    png = report.save(tmp_path / "activity.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = report.save(tmp_path / "activity.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "researcher" in svg and "50 %" in svg
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bundles found: no CDN warning
        page = report.save(tmp_path / "activity.html", offline=True).read_text()
    assert "cdn.jsdelivr" not in page and "window.vegaEmbed" in page and len(page) > 500_000


def test_ledger_jsonl_errors_are_typed() -> None:
    good = json.dumps({"seq": 1})
    with pytest.raises(cp.InvalidOptionsError) as e:
        native.parse_ledger_jsonl("\n" + good + "\n")
    assert e.value.what == "ledger" and e.value.line == 2
    with pytest.raises(cp.InvalidOptionsError):
        native.activity_from_ledger([], {"limit": 1, "colour": "red"})  # options are strict


def _persisted_pool_ledger(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    clock = FakeClock()
    pool = _busy_pool(clock, directory=tmp_path / "pool")
    entries = [e.to_dict() for e in pool.ledger()]
    pool.close()
    ledger = tmp_path / "pool" / "ledger.jsonl"
    assert len(ledger.read_text().splitlines()) == len(entries) == 4
    return ledger, entries


def test_the_command_draws_a_ledger_file_written_by_a_pool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from creditpool.__main__ import main

    ledger, entries = _persisted_pool_ledger(tmp_path)
    want = cp.ActivityChart.from_ledger(entries, limit=cp.nanos(10 * USD), thresholds_pct=[25, 50])
    assert cp.ActivityChart.from_ledger_file(ledger, limit=cp.nanos(10 * USD), thresholds_pct=[25, 50]).spec == want.spec
    assert cp.ActivityChart.from_ledger_jsonl(ledger.read_text(), limit=cp.nanos(10 * USD), thresholds_pct=[25, 50]).spec == want.spec
    out = tmp_path / "activity.json"
    assert main(["activity", str(ledger), "-o", str(out), "--limit", "10", "--thresholds", "25,50"]) == 0
    assert json.loads(out.read_text()) == want.spec
    assert "3 requests, $3.50 spent" in capsys.readouterr().out

    html = tmp_path / "activity.html"
    assert main(["activity", str(ledger), "-o", str(html), "--cdn", "--title", "Nightly <run>"]) == 0
    page = html.read_text()
    assert "<title>Nightly &lt;run&gt;</title>" in page and "cdn.jsdelivr" in page

    assert main(["activity", str(tmp_path / "missing.jsonl")]) == 1
    assert "missing.jsonl" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(ledger.read_text() + "not json\n")
    assert main(["activity", str(bad), "-o", str(tmp_path / "x.html")]) == 1
    assert "line 5" in capsys.readouterr().err


def test_python_m_creditpool_activity(tmp_path: Path) -> None:
    ledger, _ = _persisted_pool_ledger(tmp_path)
    out = tmp_path / "activity.html"
    env_run = subprocess.run([sys.executable, "-m", "creditpool", "activity", str(ledger), "-o", str(out), "--limit", "10", "--cdn"], capture_output=True, text=True, timeout=60)
    assert env_run.returncode == 0, env_run.stderr
    assert out.is_file() and "vegaEmbed(" in out.read_text()
    usage = subprocess.run([sys.executable, "-m", "creditpool", "activity"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "ledger" in usage.stderr
