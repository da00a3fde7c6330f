"""Loading the cross-language vectors (``tests/vectors/``) and comparing JSON the
way the Rust loader (``crates/creditpool-core/tests/common/mod.rs``) does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parents[2] / "tests" / "vectors"
"""The repository's ``tests/vectors/``."""

MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Case:
    """One vector case."""

    file: str
    """The file it came from, relative to ``tests/vectors/``."""
    name: str
    """The case's name, unique within its file."""
    input: Any
    """The input."""
    expected: Any
    """The expected output."""
    meta: dict[str, Any]
    """The file's top-level fields other than ``cases``."""

    @property
    def id(self) -> str:
        """A pytest id."""
        return f"{self.file}::{self.name}"


def all_files() -> list[Path]:
    """Every ``*.json`` file under ``tests/vectors/``, sorted."""
    return sorted(VECTORS_DIR.rglob("*.json"))


def kinds_in_files() -> dict[str, list[str]]:
    """Every kind found, with the files that hold it."""
    out: dict[str, list[str]] = {}
    for path in all_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        out.setdefault(str(doc["kind"]), []).append(str(path.relative_to(VECTORS_DIR)))
    return out


def load_kind(kind: str) -> list[Case]:
    """Every case of a kind, from every file."""
    cases = []
    for path in all_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["kind"] != kind:
            continue
        meta = {k: v for k, v in doc.items() if k != "cases"}
        rel = str(path.relative_to(VECTORS_DIR))
        for c in doc["cases"]:
            cases.append(Case(rel, str(c["name"]), c.get("input"), c.get("expected"), meta))
    return cases


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_diff(path: str, actual: Any, expected: Any) -> str | None:
    """The first difference, with an object key whose value is null counting
    as absent and numbers compared by value (as the Rust ``json_diff``)."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for k in sorted(set(actual) | set(expected)):
            d = json_diff(f"{path}.{k}", actual.get(k), expected.get(k))
            if d is not None:
                return d
        return None
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return f"{path}: array length {len(actual)} != expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            d = json_diff(f"{path}[{i}]", a, e)
            if d is not None:
                return d
        return None
    if _is_num(actual) and _is_num(expected):
        return None if float(actual) == float(expected) else f"{path}: got {actual!r}, expected {expected!r}"
    if type(actual) is type(expected) and actual == expected:
        return None
    return f"{path}: got {json.dumps(actual)[:300]}, expected {json.dumps(expected)[:300]}"


def json_subset_diff(path: str, actual: Any, expected: Any) -> str | None:
    """Like ``json_diff``, but keys of ``actual`` that ``expected`` lacks are
    ignored."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for k, ev in expected.items():
            d = json_subset_diff(f"{path}.{k}", actual.get(k), ev)
            if d is not None:
                return d
        return None
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return f"{path}: array length {len(actual)} != expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            d = json_subset_diff(f"{path}[{i}]", a, e)
            if d is not None:
                return d
        return None
    return json_diff(path, actual, expected)


def strict_diff(path: str, actual: Any, expected: Any) -> str | None:
    """Like ``json_diff`` but an integer never equals a float and null keys
    are not dropped (the ``partial_json`` runner's comparison)."""
    if _is_num(actual) and _is_num(expected):
        if type(actual) is type(expected) and actual == expected:
            return None
        return f"{path}: got {actual!r}, expected {expected!r}"
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for i, (a, e) in enumerate(zip(actual, expected)):
            d = strict_diff(f"{path}[{i}]", a, e)
            if d is not None:
                return d
        return None
    if isinstance(actual, dict) and isinstance(expected, dict) and len(actual) == len(expected):
        for k, a in actual.items():
            if k not in expected:
                return f"{path}: unexpected key {k!r}"
            d = strict_diff(f"{path}.{k}", a, expected[k])
            if d is not None:
                return d
        return None
    if type(actual) is type(expected) and actual == expected:
        return None
    return f"{path}: got {actual!r}, expected {expected!r}"


class Lcg:
    """Knuth's MMIX LCG, as the Rust runners use it for split points."""

    def __init__(self, seed: int) -> None:
        """Starts at ``seed``."""
        self.state = seed & MASK64

    def next(self) -> int:
        """The next value (the high 31 bits of the state)."""
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK64
        return self.state >> 33

    def below(self, n: int) -> int:
        """A value in ``[0, n)``."""
        return self.next() % max(n, 1)


def run_meter(inp: dict[str, Any]) -> dict[str, Any]:
    """The ``meter`` kind driven as ``vectors_meter.rs`` drives it: a
    ``Meter`` against a native ``Pool`` through scripted attempts (with
    ``calls``: several calls through one ``ThreadBook`` and one pool)."""
    from creditpool import _creditpool as cp

    start = int(inp["start_ms"])
    pool = cp.Pool(inp["pool"], start)
    # "threads": "pool": the pool's own book (thread ops through the store).
    book: Any = "pool" if inp.get("threads") == "pool" else cp.ThreadBook()
    ops: list[Any] = []
    clock = [start]

    def run_call(call: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(call["body"], separators=(",", ":"), ensure_ascii=False).encode()
        try:
            m = cp.Meter(inp["config"], body, cp.PriceTable(), book, clock[0])
        except cp.CreditpoolError as e:
            return {"error": e.code}

        def drain(now: int) -> Any:
            while True:
                try:
                    a = m.next_action(now)
                except cp.PoolRefusedError as e:
                    return {"refused": e.code}
                except cp.CreditpoolError as e:
                    return {"error": e.code}
                if a["type"] != "pool":
                    return {"wait_until": a["until_ms"]} if a["type"] == "wait" else a["type"]
                ops.append(a["op"]["op"])
                m.handle_pool(pool.apply(a["op"]), now)

        now = clock[0]
        actions: list[Any] = []
        for a in call["attempts"]:
            now += 1
            m.begin_attempt(int(a.get("retries_taken") or 0), a.get("max_retries"), now)
            act = drain(now)
            while isinstance(act, dict) and "wait_until" in act:
                actions.append(act)
                now = int(act["wait_until"])
                act = drain(now)
            actions.append(act)
            if act != "send":
                break
            now += 1
            if "transport" in a:
                m.handle_transport_error(a["transport"], now)
            elif a.get("abandon") is True:
                m.abandon(now)
            elif m.handle_head(int(a["status"]), list((a.get("headers") or {}).items()), now) == "whole":
                m.handle_body(str(a.get("body") or "").encode(), now)
            else:
                for c in a.get("chunks") or []:
                    now += 1
                    m.handle_chunk(c.encode(), now)
                    drain(now)
                now += 1
                if a.get("end") is False:
                    m.abandon(now)
                else:
                    m.handle_end(now)
            actions.append(drain(now))
        if call.get("abandon_at_end") is True:
            now += 1
            m.abandon(now)
            actions.append(drain(now))
        clock[0] = now
        return {"body": json.loads(m.body), "amount": m.amount, "actions": actions}

    if "calls" in inp:
        results = []
        for call in inp["calls"]:
            clock[0] += int(call.get("advance_ms") or 0)
            r = run_call(call)
            results.append(r if "error" in r else {"amount": r["amount"], "actions": r["actions"]})
        out: dict[str, Any] = {"calls": results}
    else:
        out = run_call(inp)
        if "error" in out:
            return out
    ledger = [{"kind": e["kind"], "cost": e["cost"], "estimated": bool(e.get("estimated", False))} for _line, e in pool.poll_ledger()]
    totals = pool.totals()
    out.update({"pool_ops": ops, "ledger": ledger, "pool": {"settled": totals["settled"], "reserved": totals["reserved"]}})
    return out


def check_meter(case: Case) -> str | None:
    """``Meter`` (``vectors_meter.rs``)."""
    actual = run_meter(case.input)
    for key, want in case.expected.items():
        d = json_subset_diff(key, actual.get(key), want) if key == "pool" else json_diff(key, actual.get(key), want)
        if d is not None:
            return d
    return None
