#!/usr/bin/env python3
"""Generates tests/vectors/partial_json/jiter.json (kind `partial_json`).

The expected results come from jiter, the parser the official Anthropic Python
SDK uses to accumulate a streamed tool input: it calls
`jiter.from_json(buffer, partial_mode=True)` after every `input_json_delta`.

Pinned: jiter 0.19.0 (the script refuses to run with another version).

    python3 -m venv /tmp/jv && /tmp/jv/bin/pip install jiter==0.19.0
    /tmp/jv/bin/python scripts/vectors/gen_partial_json.py

How a jiter outcome becomes an `expected` object:

* a value: `{"value": v, "complete": c}`, where `c` is whether jiter also
  accepts the text with partial mode off (one whole JSON document);
* a ValueError whose message starts with "EOF while parsing" (only possible
  for a top-level scalar cut short): `{"error": "incomplete"}`;
* "recursion limit exceeded": `{"error": "too_deep"}`;
* any other ValueError: `{"error": "syntax"}`.

Three documented exceptions, marked with a "note" on the case: empty or
whitespace-only text is `{}` (complete), not jiter's error; a result holding
NaN or an infinity is `{"error": "non_finite"}`; integers outside the 64-bit
range are not used in the cases at all.
"""

import json
import math
import pathlib

import jiter

JITER_VERSION = "0.19.0"
OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "vectors" / "partial_json" / "jiter.json"

# Realistic tool inputs; every prefix of each becomes a case.
DOCS = {
    "weather": '{"location": "San Francisco, CA", "unit": "celsius"}',
    "search": (
        '{"query": "caf\\u00e9 \\ud83d\\ude00 \\"q\\"\\n", "limit": 10, '
        '"threshold": -2.5e-3, "exact": true, "cursor": null, "verbose": false}'
    ),
    "edits": (
        '{"edits": [{"path": "src/a\\/b.rs", "line": 12, "ops": [1.5E+2, 0, -7]}, '
        '{"path": "x", "ops": []}], "meta": {"dry_run": false, "tags": ["x", "y"]}}'
    ),
    "raw_unicode": '{"city": "Z\u00fcrich", "note": "\u20ac \U0001F600"}',
}

# Hand-picked texts: whole documents, odd shapes, garbage.
EXTRA = {
    "complete_with_whitespace": '  {\n  "a" : [ 1 , 2 ] ,\t"b" : { } \r\n}  ',
    "complete_top_level_array": '[1, -0, 0.5, 12345678901234, 1e5, true, false, null, "s"]',
    "complete_top_level_string": '"just a string"',
    "complete_top_level_number": "12",
    "complete_negative_zero_float": "[-0.0]",
    "complete_escapes": '["\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\uD83D\\uDE00"]',
    "duplicate_key_last_wins": '{"a": 1, "a": 2}',
    "duplicate_key_unfinished_second_dropped": '{"a": 1, "a": ',
    "trailing_text_ignored": '{"a": 1} trailing',
    "second_document_ignored": '{"a": 1}{"b": 2}',
    "missing_comma_closes_container": "[1 2, 3]",
    "mismatched_bracket_closes_inner": '[{"a": 1], 5]',
    "mismatched_brace_closes_inner": '{"x": [1}, "y": 2}',
    "literal_followed_by_letters": "[truex]",
    "deep_unclosed": "[[[[{\"a\": [{",
    # 201 open arrays are still fine, but a value that deep cannot be an
    # `expected` here: serde_json refuses to read JSON nested past 128 levels.
    # The Rust unit tests cover those; the vectors pin the errors.
    "depth_limit_exceeded_by_scalar": "[" * 201 + "1",
    "depth_limit_exceeded_by_container": "[" * 202,
    "top_level_string_cut": '"abc',
    "top_level_literal_cut": "tru",
    "top_level_number_cut": "1.",
    "top_level_minus_only": "-",
    "garbage_word": "hello",
    "garbage_key_not_string": "{1: 2}",
    "garbage_missing_colon": '{"a" 1}',
    "garbage_trailing_comma_array": "[1,]",
    "garbage_trailing_comma_object": '{"a": 1,}',
    "garbage_double_comma": "[1,,",
    "garbage_invalid_escape_even_if_cut": '{"a": "x\\q',
    "garbage_control_char_in_string": '{"a": "x\u0001',
    "garbage_leading_zero": "[01",
    "garbage_bad_fraction": "[1.x",
    "garbage_bad_literal": "[nul]",
    "garbage_lone_low_surrogate": '["\\udc00"]',
    "garbage_high_surrogate_then_text": '["\\ud800x"]',
    "garbage_high_surrogate_then_other_escape": '["\\ud800\\n"]',
    "garbage_high_surrogate_then_non_low": '["\\ud800\\u0041"]',
    "cut_high_surrogate_then_backslash": '["\\ud800\\',
    "cut_hex_escape_with_bad_digit": '["\\u12G',
    "cut_nan": "[Na",
    "cut_negative_infinity": "[-Inf",
    "nan_is_non_finite": "[NaN]",
    "infinity_is_non_finite": '{"a": Infinity}',
    "overflowing_float_is_non_finite": "[1e400]",
    "non_finite_then_syntax_error_is_syntax": "[NaN, 1,]",
    "underflowing_float_is_zero": "[1e-400]",
    "empty_text": "",
    "whitespace_only": " \n\t",
}

NOTES = {
    "empty_text": "jiter fails on empty input; the SDK never calls it then and keeps the {} from content_block_start",
    "whitespace_only": "jiter fails; treated like empty input",
}


def has_non_finite(v):
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, list):
        return any(has_non_finite(x) for x in v)
    if isinstance(v, dict):
        return any(has_non_finite(x) for x in v.values())
    return False


def has_big_int(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return not -(2**63) <= v < 2**64
    if isinstance(v, list):
        return any(has_big_int(x) for x in v)
    if isinstance(v, dict):
        return any(has_big_int(x) for x in v.values())
    return False


def expected_for(text):
    """The expected object for `text`, and a note when it departs from jiter."""
    if text.strip(" \t\r\n") == "":
        return {"value": {}, "complete": True}, None
    data = text.encode("utf-8")
    try:
        value = jiter.from_json(data, partial_mode=True)
    except ValueError as e:
        msg = str(e)
        if msg.startswith("EOF while parsing"):
            return {"error": "incomplete"}, None
        if "recursion limit" in msg:
            return {"error": "too_deep"}, None
        return {"error": "syntax"}, None
    if has_non_finite(value):
        return {"error": "non_finite"}, "jiter returns NaN/infinity, which JSON cannot hold"
    if has_big_int(value):
        raise SystemExit(f"integer outside 64 bits in {text!r}: keep such cases out")
    try:
        jiter.from_json(data, partial_mode=False)
        complete = True
    except ValueError:
        complete = False
    return {"value": value, "complete": complete}, None


def main():
    if jiter.__version__ != JITER_VERSION:
        raise SystemExit(f"jiter {jiter.__version__} installed; these vectors pin {JITER_VERSION}")
    cases = []

    def add(name, text):
        expected, note = expected_for(text)
        case = {"name": name, "input": {"text": text}, "expected": expected}
        note = NOTES.get(name, note)
        if note:
            case["note"] = note
        cases.append(case)

    for doc_name, doc in DOCS.items():
        for k in range(1, len(doc) + 1):
            add(f"{doc_name}_prefix_{k:03}", doc[:k])
    for name, text in EXTRA.items():
        add(name, text)

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "kind": "partial_json",
        "description": (
            "parse_partial on JSON cut off anywhere, matching the official Python SDK's "
            f"jiter.from_json(buf, partial_mode=True) (jiter {JITER_VERSION}); generated by "
            "scripts/vectors/gen_partial_json.py, which documents the mapping and the exceptions"
        ),
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write(' "kind": ' + json.dumps(doc["kind"]) + ",\n")
        f.write(' "description": ' + json.dumps(doc["description"]) + ",\n")
        f.write(' "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c) for c in cases))
        f.write("\n ]\n}\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
