"""Small helpers for the XML this package writes (SVG pictures, JUnit reports).

Everything goes through :mod:`xml.etree.ElementTree`, which escapes markup; :func:`clean`
handles what escaping cannot: characters XML 1.0 forbids outright (the ANSI colour codes
of a build log, NULs) and lone surrogates from undecodable bytes.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"

_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    r"""``text`` with every character XML cannot hold written as ``\xNN``/``\uNNNN``."""
    return _INVALID.sub(lambda m: ascii(m.group())[1:-1], text)


def num(value: float) -> str:
    """A coordinate: at most one decimal, no trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def sub(
    parent: ET.Element, tag: str, text: str | None = None, /, **attrs: str | float
) -> ET.Element:
    """Append ``<tag>`` to ``parent``; ``class_`` means ``class``, ``_`` in names ``-``."""
    el = ET.SubElement(parent, tag, {_attr(k): _value(v) for k, v in attrs.items()})
    if text is not None:
        el.text = clean(text)
    return el


def svg(width: float, height: float, **attrs: str | float) -> ET.Element:
    base: dict[str, str | float] = {
        "width": width,
        "height": height,
        "viewBox": f"0 0 {num(width)} {num(height)}",
    }
    return ET.Element(
        "svg",
        {"xmlns": SVG_NS, **{_attr(k): _value(v) for k, v in {**base, **attrs}.items()}},
    )


def to_string(root: ET.Element) -> str:
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode")


def text_width(text: str, font_size: float) -> float:
    """A generous estimate of the width of ``text`` in a sans-serif font."""
    return len(text) * font_size * 0.62


def nice_step(span: float, ticks: int = 10) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return float(mult * power)
    return float(10 * power)


def _attr(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


def _value(value: str | float) -> str:
    return clean(value) if isinstance(value, str) else num(value)
