"""Pool activity charts: the core's one Vega-Lite v5 dashboard
(``creditpool_core::activity``), shown in notebooks and written to files.

The core builds the activity data and the specification (``spec``, a dict,
exactly the core's); this module only finds the Vega bundles for an offline
page and hands the spec to ``vl-convert-python`` for SVG and PNG (the optional
extra ``creditpool[charts]``).

Standalone HTML (``save("x.html")``, ``html()``) inlines the Vega bundles when
it can find them, so that the page opens offline, in this order: the
``vega_dir`` argument or the ``CREDITPOOL_VEGA_DIR`` environment variable (an
npm ``node_modules`` directory holding ``vega``, ``vega-lite`` and
``vega-embed``: the pinned versions, ``VEGA_LITE_VERSION`` and friends), then
``vl-convert-python``'s own bundle (``creditpool[charts]``). Without either,
the page loads the pinned bundles from jsDelivr (it then needs the network)
and a ``UserWarning`` says so; ``offline=True`` raises ``MissingExtraError``
instead.
"""

from __future__ import annotations

import html as _html
import importlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import _creditpool
from ._errors import missing_extra, typed_error
from ._money import AmountLike, amount_nanos, format_usd

__all__ = [
    "ActivityChart",
    "VEGA_LITE_MIME",
    "VEGA_LITE_VERSION",
    "VEGA_VERSION",
    "VEGA_EMBED_VERSION",
    "find_vega_scripts",
    "activity_options",
]

VEGA_LITE_MIME = "application/vnd.vegalite.v5+json"
"""The media type notebooks render a Vega-Lite v5 spec from."""

VEGA_LITE_VERSION: str = _creditpool.VEGA_LITE_VERSION
"""The Vega-Lite version the core's specs are checked against."""
VEGA_VERSION: str = _creditpool.VEGA_VERSION
"""The Vega runtime version of the CDN page."""
VEGA_EMBED_VERSION: str = _creditpool.VEGA_EMBED_VERSION
"""The vega-embed version of the CDN page."""

VL_CONVERT_VL_VERSION = "5.21"
"""The Vega-Lite version asked of ``vl-convert-python`` (its newest 5.x; the
specs use nothing newer)."""

_BUNDLES = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js")


def activity_options(
    *,
    limit: AmountLike | None = None,
    thresholds_pct: Sequence[int] | None = None,
    cycle_start_ms: int | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """The core's ``ActivityOptions`` dict, fields left out when not given
    (the core's defaults apply: thresholds 50 / 75 / 90 / 100 %, the latest
    cycle, its own title)."""
    d: dict[str, Any] = {}
    if limit is not None:
        d["limit"] = amount_nanos(limit, "limit")
    if thresholds_pct is not None:
        d["thresholds_pct"] = list(thresholds_pct)
    if cycle_start_ms is not None:
        d["cycle_start_ms"] = cycle_start_ms
    if title is not None:
        d["title"] = title
    return d


def _import_vl_convert() -> Any:
    """``vl_convert`` (from ``vl-convert-python``), or ``None``. Imported by
    name, so that type checks do not depend on the extra."""
    try:
        return importlib.import_module("vl_convert")
    except ImportError:
        return None


def _vl_convert(what: str) -> Any:
    vlc = _import_vl_convert()
    if vlc is None:
        raise missing_extra("charts", "vl-convert-python", what)
    return vlc


def find_vega_scripts(vega_dir: str | os.PathLike[str] | None = None) -> tuple[str, str, str] | None:
    """The Vega bundles' text for an offline page, as ``standalone_html``
    takes them (``(vega, vega_lite, vega_embed)``), or ``None`` when none is
    found: from ``vega_dir`` or ``$CREDITPOOL_VEGA_DIR`` (an npm
    ``node_modules`` directory; a ``vega_dir`` without the three files raises
    ``InvalidOptionsError``), else from ``vl-convert-python`` (one bundle
    that defines all three)."""
    named = vega_dir if vega_dir is not None else os.environ.get("CREDITPOOL_VEGA_DIR") or None
    if named is not None:
        root = Path(named)
        paths = [root / b for b in _BUNDLES]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"vega_dir: {', '.join(missing)} not found", what="vega_dir")
        vega, vega_lite, vega_embed = (p.read_text(encoding="utf-8") for p in paths)
        return vega, vega_lite, vega_embed
    vlc = _import_vl_convert()
    if vlc is None:
        return None
    bundle = str(vlc.javascript_bundle(vl_version=VL_CONVERT_VL_VERSION))
    return bundle, "", ""


class ActivityChart:
    """A pool's activity dashboard: ``spec``, the core's Vega-Lite v5
    specification (a dict), and ``activity``, the data it draws (the core's
    ``Activity`` as a dict). Displays as the chart in Jupyter and VS Code;
    ``save()`` writes HTML, SVG, PNG or the spec's JSON."""

    __slots__ = ("activity", "spec")

    def __init__(self, activity: dict[str, Any]) -> None:
        """The chart of ``activity`` (a dict from the core)."""
        self.activity: dict[str, Any] = activity
        """The core's ``Activity`` (see ``docs/ACTIVITY.md``)."""
        self.spec: dict[str, Any] = _creditpool.activity_chart(activity)
        """The core's Vega-Lite v5 specification."""

    @classmethod
    def from_ledger(
        cls,
        entries: Iterable[Mapping[str, Any]],
        *,
        limit: AmountLike | None = None,
        thresholds_pct: Sequence[int] | None = None,
        cycle_start_ms: int | None = None,
        title: str | None = None,
        refusals: Sequence[Mapping[str, Any]] | None = None,
    ) -> "ActivityChart":
        """The chart of ledger entries (dicts or ``LedgerEntry`` views, any
        order; one cycle is drawn, ``cycle_start_ms`` or the latest).
        ``limit`` (a ``Money``: ``usd(40)``) draws the thresholds; ``refusals`` are the
        driver's ``{"at_ms", "agent", "reason"}``."""
        dicts = [e.to_dict() if hasattr(e, "to_dict") else e for e in entries]
        options = activity_options(limit=limit, thresholds_pct=thresholds_pct, cycle_start_ms=cycle_start_ms, title=title)
        return cls(_creditpool.activity_from_ledger(dicts, options, refusals))

    @classmethod
    def from_ledger_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> "ActivityChart":
        """The chart of a JSON Lines ledger file, whichever language wrote it
        (options as for ``from_ledger``). A line that is not a ledger entry
        raises ``InvalidOptionsError`` (``what`` ``ledger``, ``line``)."""
        return cls.from_ledger_jsonl(Path(path).read_text(encoding="utf-8"), **kwargs)

    @classmethod
    def from_ledger_jsonl(cls, text: str, **kwargs: Any) -> "ActivityChart":
        """The chart of a JSON Lines ledger's text (options as for
        ``from_ledger``; a bad line as for ``from_ledger_file``)."""
        return cls.from_ledger(_creditpool.parse_ledger_jsonl(text), **kwargs)

    @property
    def title(self) -> str:
        """The dashboard's title."""
        return str(self.activity.get("title", "Pool activity"))

    def text(self) -> str:
        """A one-line summary: title, spend against the limit, requests."""
        a = self.activity
        limit = a.get("limit")
        of = f" of {format_usd(int(limit))}" if limit is not None else ""
        return f"{self.title}: {format_usd(int(a.get('spent', 0)))} spent{of}, {a.get('settles', 0)} requests"

    def to_dict(self) -> dict[str, Any]:
        """The spec (the same dict)."""
        return self.spec

    def html(self, *, vega_dir: str | os.PathLike[str] | None = None, offline: bool | None = None) -> str:
        """The core's standalone page drawing the spec. ``offline=None``:
        inlines the bundles when found (``find_vega_scripts``), else loads
        them from the CDN with a ``UserWarning``; ``True``: inlined or
        ``MissingExtraError``; ``False``: always the CDN page (small)."""
        scripts = None if offline is False else find_vega_scripts(vega_dir)
        if scripts is None and offline:
            raise missing_extra("charts", "vl-convert-python", "an offline page (or vega_dir / CREDITPOOL_VEGA_DIR)")
        if scripts is None and offline is None:
            warnings.warn(
                'no Vega bundles found: the page loads them from cdn.jsdelivr.net and needs the network; pip install "creditpool[charts]" (or set CREDITPOOL_VEGA_DIR) for a page that opens offline',
                UserWarning,
                stacklevel=2,
            )
        return _creditpool.standalone_html(self.spec, self.title, scripts)

    def svg(self) -> str:
        """The dashboard as SVG (``creditpool[charts]``)."""
        vlc = _vl_convert("SVG output")
        return str(vlc.vegalite_to_svg(self.spec, vl_version=VL_CONVERT_VL_VERSION))

    def png(self, *, scale: float = 1.0) -> bytes:
        """The dashboard as PNG (``creditpool[charts]``)."""
        vlc = _vl_convert("PNG output")
        return bytes(vlc.vegalite_to_png(self.spec, vl_version=VL_CONVERT_VL_VERSION, scale=scale))

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        vega_dir: str | os.PathLike[str] | None = None,
        offline: bool | None = None,
        scale: float = 1.0,
    ) -> Path:
        """Writes the chart by the file's suffix: ``.html`` / ``.htm`` the
        standalone page (see ``html()``), ``.svg`` and ``.png`` through
        ``vl-convert-python`` (``MissingExtraError`` without
        ``creditpool[charts]``), ``.json`` the spec. Another suffix raises
        ``InvalidOptionsError``. Returns the path."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix in (".html", ".htm"):
            p.write_text(self.html(vega_dir=vega_dir, offline=offline), encoding="utf-8")
        elif suffix == ".svg":
            p.write_text(self.svg(), encoding="utf-8")
        elif suffix == ".png":
            p.write_bytes(self.png(scale=scale))
        elif suffix == ".json":
            p.write_text(json.dumps(self.spec, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"path: cannot tell the format of {str(p)!r}: use .html, .svg, .png or .json", what="path")
        return p

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The notebook display (Jupyter, VS Code): the Vega-Lite spec, a
        short HTML note for front ends that cannot draw it, and text."""
        return mimebundle(self.spec, self.title, self.text(), include, exclude)

    def __repr__(self) -> str:
        """The summary."""
        return f"<ActivityChart {self.text()}>"


def mimebundle(spec: dict[str, Any], title: str, text: str, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """``_repr_mimebundle_``'s dict: ``application/vnd.vegalite.v5+json``
    (the spec), ``text/html`` (a short note: a notebook without a Vega-Lite
    renderer shows it; the page itself is ``save("x.html")``) and
    ``text/plain``; filtered by ``include`` / ``exclude``."""
    note = (
        f"<div><strong>{_html.escape(title)}</strong><br>{_html.escape(text)}<br>"
        "<em>A Vega-Lite chart: shown in JupyterLab, Jupyter Notebook 7 and VS Code; "
        "elsewhere save it with <code>.save(&quot;activity.html&quot;)</code>.</em></div>"
    )
    bundle: dict[str, Any] = {VEGA_LITE_MIME: spec, "text/html": note, "text/plain": text}
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle
