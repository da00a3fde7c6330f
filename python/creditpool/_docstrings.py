"""Descriptions from docstrings: the summary, and one line per parameter from a
Google (``Args:``), NumPy (``Parameters`` / ``----------``) or reST
(``:param name:``) section."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

_GOOGLE_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "kwargs"}
_OTHER_SECTIONS = {
    "returns", "return", "yields", "yield", "raises", "raise", "examples", "example", "notes", "note",
    "see also", "references", "attributes", "warns", "warnings", "todo",
}
_REST_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\*{0,2}\w+)\s*:\s*(.*)$")
_REST_OTHER = re.compile(r"^:(?:type|rtype|returns?|raises?|yields?|var|ivar|cvar)\b")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?::\s*(.*))?$")


@dataclass
class Docstring:
    """What a docstring says: a description and per-parameter descriptions."""

    description: str = ""
    """The text before the first section."""
    params: dict[str, str] = field(default_factory=dict)
    """Parameter name (without ``*``) to its description."""


def _join(lines: list[str]) -> str:
    return " ".join(s.strip() for s in lines if s.strip()).strip()


def parse_docstring(doc: str | None) -> Docstring:
    """Parses a docstring in any of the three styles (they may not mix)."""
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    out = Docstring()
    summary: list[str] = []
    i = 0
    n = len(lines)
    section: str | None = None
    while i < n:
        line = lines[i]
        stripped = line.strip()
        lower = stripped.rstrip(":").lower()
        numpy_header = i + 1 < n and set(lines[i + 1].strip()) == {"-"} and stripped != ""
        if numpy_header:
            section = "numpy-params" if lower in _GOOGLE_SECTIONS else "other"
            i += 2
            continue
        if stripped.endswith(":") and lower in _GOOGLE_SECTIONS and not line.startswith(" "):
            section = "google-params"
            i += 1
            continue
        if stripped.endswith(":") and lower in _OTHER_SECTIONS and not line.startswith(" "):
            section = "other"
            i += 1
            continue
        m = _REST_PARAM.match(stripped)
        if m:
            section = "rest"
            name = m.group(1).lstrip("*")
            text = [m.group(2)]
            i += 1
            while i < n and lines[i].startswith((" ", "\t")) and lines[i].strip():
                text.append(lines[i])
                i += 1
            out.params[name] = _join(text)
            continue
        if _REST_OTHER.match(stripped):
            section = "rest"
            i += 1
            continue
        if section is None:
            summary.append(line)
            i += 1
            continue
        if section == "google-params" and line.startswith((" ", "\t")):
            indent = len(line) - len(line.lstrip())
            m = _GOOGLE_ITEM.match(stripped)
            if m:
                name = m.group(1).lstrip("*")
                text = [m.group(3)]
                i += 1
                while i < n and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
                    text.append(lines[i])
                    i += 1
                out.params[name] = _join(text)
                continue
        if section == "numpy-params" and stripped and not line.startswith((" ", "\t")):
            m = _NUMPY_ITEM.match(stripped)
            if m:
                names = [s.strip().lstrip("*") for s in m.group(1).split(",")]
                text = []
                i += 1
                while i < n and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
                    if not lines[i].strip() and (i + 1 >= n or not lines[i + 1].startswith((" ", "\t"))):
                        break
                    text.append(lines[i])
                    i += 1
                for name in names:
                    out.params[name] = _join(text)
                continue
        if section == "google-params" and stripped and not line.startswith((" ", "\t")):
            section = "other"
            continue
        i += 1
    out.description = "\n".join(summary).strip()
    return out
