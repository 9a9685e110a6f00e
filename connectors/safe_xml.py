"""Parsing untrusted XML from WeChat callbacks.

wechatpy parses with `xmltodict` on the standard library's expat. xmltodict 1.x refuses
entity declarations (`disable_entities=True`, its default), expat never fetches external
entities, and WeChat never sends a DTD, so on top of that we refuse any DOCTYPE/ENTITY
outright and cap the size: XXE and entity-expansion ("billion laughs") payloads fail fast
with `UnsafeXML`, before any expansion happens.
"""
from __future__ import annotations

from typing import Any, Dict
from xml.parsers.expat import ExpatError

import xmltodict

MAX_XML_BYTES = 64 * 1024


class UnsafeXML(ValueError):
    """The body is not a well-formed, DTD-free `<xml>...</xml>` document."""


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> Dict[str, Any]:
    """Returns the children of the `<xml>` root as a dict of strings (or raises UnsafeXML)."""
    if not body:
        raise UnsafeXML("empty body")
    if len(body) > max_bytes:
        raise UnsafeXML(f"body larger than {max_bytes} bytes")
    lowered = body.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise UnsafeXML("DTDs are not accepted")
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError, TypeError) as exc:
        raise UnsafeXML(f"malformed XML: {exc}") from exc
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise UnsafeXML("root element must be <xml> with children")
    return root


def text_field(root: Dict[str, Any], name: str, default: str = "") -> str:
    """A child element's text; anything that is not plain text counts as missing."""
    value = root.get(name)
    return value if isinstance(value, str) else default
