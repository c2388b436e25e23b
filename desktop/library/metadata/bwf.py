"""BWF ``bext``, iXML and RIFF ``LIST/INFO`` payloads: parse into values, build for writing.

bext follows EBU Tech 3285 (v0-v2): fixed ASCII fields, then free CodingHistory. Real files
also carry UTF-8 or Windows-1252 text there, so text is decoded as UTF-8 when it is valid
and as Windows-1252 otherwise; nothing here raises on odd bytes.

iXML is parsed with the standard library's expat with a size cap and DOCTYPEs refused (iXML
never needs one; refusing it rules out entity expansion). The library convention (Soundminer,
BaseHead) keeps descriptive fields as children of ``<USER>``; every child is read, known names
map to canonical fields, the rest keep their own lower-case name.
"""

from __future__ import annotations

import logging
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "BEXT_DESCRIPTION_BYTES",
    "INFO_FIELDS",
    "IXML_USER_FIELDS",
    "build_bext",
    "build_info",
    "decode_text",
    "parse_bext",
    "parse_info",
    "parse_ixml",
    "truncate_utf8",
    "update_ixml",
]

log = logging.getLogger(__name__)

BEXT_DESCRIPTION_BYTES = 256
_BEXT_FIXED = 602  # bytes before CodingHistory (EBU Tech 3285 v2 layout)
MAX_IXML_BYTES = 8 << 20

#: iXML ``<USER>`` child -> canonical field (the Soundminer/BaseHead convention).
IXML_USER_FIELDS: Mapping[str, str] = {
    "DESCRIPTION": "description",
    "KEYWORDS": "keywords",
    "CATEGORY": "category",
    "SUBCATEGORY": "subcategory",
    "CATID": "catid",
    "CATEGORYFULL": "category_full",
    "FXNAME": "fxname",
    "LIBRARY": "library",
    "DESIGNER": "designer",
    "NOTES": "notes",
    "TRACKTITLE": "title",
    "ARTIST": "artist",
    "MANUFACTURER": "manufacturer",
    "SHOW": "show",
}
_FIELD_TO_IXML = {
    "description": "DESCRIPTION",
    "keywords": "KEYWORDS",
    "category": "CATEGORY",
    "subcategory": "SUBCATEGORY",
    "catid": "CATID",
    "category_full": "CATEGORYFULL",
    "fxname": "FXNAME",
    "library": "LIBRARY",
    "designer": "DESIGNER",
    "notes": "NOTES",
}

#: RIFF INFO sub-chunk id -> canonical field.
INFO_FIELDS: Mapping[str, str] = {
    "INAM": "title",
    "ICMT": "description",
    "IKEY": "keywords",
    "IGNR": "genre",
    "IART": "artist",
    "ICOP": "copyright",
    "ICRD": "date",
    "ISFT": "software",
    "ISBJ": "subject",
    "IPRD": "album",
    "IENG": "engineer",
    "ITCH": "technician",
    "ISRC": "source",
    "ISRF": "source_form",
    "IMED": "medium",
    "ICMS": "commissioned",
    "IARL": "archival_location",
    "ITRK": "track",
}


def decode_text(raw: bytes) -> str:
    """Bytes of a fixed or zero-terminated text field -> text (UTF-8, else Windows-1252).

    Stops at the first NUL and strips surrounding whitespace.
    """
    raw = raw.split(b"\0", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.strip()


def truncate_utf8(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return data
    cut = data[:limit]
    # Drop a partial multi-byte character at the end.
    return cut.decode("utf-8", errors="ignore").encode("utf-8")


@dataclass(frozen=True)
class _Field:
    name: str
    offset: int
    size: int


_BEXT_TEXT = (
    _Field("description", 0, 256),
    _Field("originator", 256, 32),
    _Field("originator_reference", 288, 32),
    _Field("origination_date", 320, 10),
    _Field("origination_time", 330, 8),
)
_BEXT_SOURCE = {
    "description": "bext:Description",
    "originator": "bext:Originator",
    "originator_reference": "bext:OriginatorReference",
    "origination_date": "bext:OriginationDate",
    "origination_time": "bext:OriginationTime",
}


def parse_bext(payload: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Parse a bext payload into ``(field, value, source)`` triples and warnings."""
    out: list[tuple[str, str, str]] = []
    warnings: list[str] = []
    if len(payload) < 346:
        warnings.append(f"bext chunk is too short ({len(payload)} bytes); partly read")
    for f in _BEXT_TEXT:
        raw = payload[f.offset : f.offset + f.size]
        if raw:
            out.append((f.name, decode_text(raw), _BEXT_SOURCE[f.name]))
    if len(payload) >= 348:
        low, high, version = struct.unpack_from("<IIH", payload, 338)
        reference = (high << 32) | low
        if reference:
            out.append(("time_reference", str(reference), "bext:TimeReference"))
        if version >= 1 and len(payload) >= 412:
            umid = payload[348:412]
            if any(umid):
                # A basic UMID is 32 bytes; the rest is zero unless it is an extended one.
                used = umid if any(umid[32:]) else umid[:32]
                out.append(("umid", used.hex().upper(), "bext:UMID"))
        if version >= 2 and len(payload) >= 422:
            names = ("LoudnessValue", "LoudnessRange", "MaxTruePeakLevel")
            values = struct.unpack_from("<hhhhh", payload, 412)
            parts = [
                f"{n}={v / 100:.2f}" for n, v in zip(names, values[:3]) if v != 0x7FFF and v != 0
            ]
            if parts:
                out.append(("loudness", ", ".join(parts), "bext:Loudness"))
    if len(payload) > _BEXT_FIXED:
        history = decode_text(payload[_BEXT_FIXED:])
        if history:
            out.append(("coding_history", history, "bext:CodingHistory"))
    return [t for t in out if t[1]], warnings


def build_bext(existing: bytes | None, description: str) -> bytes:
    """A bext payload with ``description`` (cut to 256 UTF-8 bytes), every other byte of
    ``existing`` kept; a new chunk is version 1 with everything else zero."""
    if existing is not None and len(existing) >= _BEXT_FIXED:
        base = bytearray(existing)
    else:
        base = bytearray(_BEXT_FIXED)
        if existing:
            base[: len(existing)] = existing
        else:
            struct.pack_into("<H", base, 346, 1)
    desc = truncate_utf8(description, BEXT_DESCRIPTION_BYTES)
    base[0:BEXT_DESCRIPTION_BYTES] = desc.ljust(BEXT_DESCRIPTION_BYTES, b"\0")
    return bytes(base)


def bext_description(payload: bytes | None) -> str | None:
    """The Description field of a bext payload, or ``None``."""
    if not payload:
        return None
    return decode_text(payload[:BEXT_DESCRIPTION_BYTES]) or None


# ---- iXML ---------------------------------------------------------------------------------

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _load_ixml(payload: bytes) -> ET.Element:
    """Parse iXML bytes (NUL padding stripped), keeping comments; raises ValueError."""
    data = payload.rstrip(b"\0 \t\r\n")
    if not data:
        raise ValueError("iXML chunk is empty")
    if len(data) > MAX_IXML_BYTES:
        raise ValueError("iXML chunk is too large to read")
    if _DOCTYPE.search(data):
        raise ValueError("iXML chunk has a DOCTYPE, which iXML never needs; not read")
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = ET.XMLParser(target=builder)
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise ValueError(f"iXML chunk is not valid XML ({exc})") from None
    return root


def _text(elem: ET.Element) -> str:
    return " ".join("".join(elem.itertext()).split()) if len(elem) else (elem.text or "").strip()


def _tag(elem: ET.Element) -> str:
    tag = elem.tag if isinstance(elem.tag, str) else ""
    return tag.rsplit("}", 1)[-1].upper()


def parse_ixml(payload: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Parse an iXML payload into ``(field, value, source)`` triples and warnings.

    Reads ``USER`` children (or ``USER`` free text as notes), ``NOTE``, ``PROJECT``,
    ``SCENE``, ``TAKE``, ``TAPE`` and ``BEXT/BWF_*`` elements. Library-style iXML without a
    ``TRACK_LIST`` is normal here.
    """
    try:
        root = _load_ixml(payload)
    except ValueError as exc:
        return [], [str(exc)]
    out: list[tuple[str, str, str]] = []
    for child in root:
        tag = _tag(child)
        if tag == "USER":
            if len(child) == 0:
                out.append(("notes", _text(child), "ixml:USER"))
            for item in child:
                name = _tag(item)
                if not name:
                    continue
                field = IXML_USER_FIELDS.get(name, name.lower())
                out.append((field, _text(item), f"ixml:USER/{name}"))
        elif tag in ("NOTE", "PROJECT", "SCENE", "TAKE", "TAPE"):
            field = "notes" if tag == "NOTE" else tag.lower()
            out.append((field, _text(child), f"ixml:{tag}"))
        elif tag == "BEXT":
            for item in child:
                name = _tag(item)
                bext_field = {
                    "BWF_DESCRIPTION": "description",
                    "BWF_ORIGINATOR": "originator",
                    "BWF_ORIGINATOR_REFERENCE": "originator_reference",
                    "BWF_ORIGINATION_DATE": "origination_date",
                    "BWF_ORIGINATION_TIME": "origination_time",
                }.get(name)
                if bext_field:
                    out.append((bext_field, _text(item), f"ixml:BEXT/{name}"))
    return [t for t in out if t[1]], []


def ixml_user_values(payload: bytes | None) -> dict[str, str]:
    """``USER`` child name -> text of an iXML payload (empty when absent or unreadable)."""
    if not payload:
        return {}
    try:
        root = _load_ixml(payload)
    except ValueError:
        return {}
    user = next((c for c in root if _tag(c) == "USER"), None)
    if user is None:
        return {}
    return {_tag(item): (item.text or "") for item in user if _tag(item)}


def update_ixml(existing: bytes | None, values: Mapping[str, str]) -> bytes:
    """An iXML payload with ``USER`` children set from canonical ``values`` (``""`` removes
    a child); everything else in ``existing`` is kept (re-serialised as UTF-8).

    Raises:
        ValueError: ``existing`` is not iXML Earmark can safely rewrite (not XML, a DOCTYPE);
            the message can be shown to a user.
    """
    if existing and existing.strip(b"\0 \t\r\n"):
        root = _load_ixml(existing)
        if _tag(root) != "BWFXML":
            raise ValueError(f"iXML chunk has root <{root.tag}> instead of <BWFXML>; not changed")
    else:
        root = ET.Element("BWFXML")
        ET.SubElement(root, "IXML_VERSION").text = "2.10"
    user = next((c for c in root if _tag(c) == "USER"), None)
    if user is None:
        user = ET.SubElement(root, "USER")
    elif len(user) == 0 and (user.text or "").strip():
        # Free-text USER (the iXML spec's form): keep the words as a NOTES child.
        note = (user.text or "").strip()
        user.text = None
        ET.SubElement(user, "NOTES").text = note
    for field, text in values.items():
        name = _FIELD_TO_IXML[field]
        elem = next((c for c in user if _tag(c) == name), None)
        if text == "":
            if elem is not None:
                user.remove(elem)
            continue
        if elem is None:
            elem = ET.SubElement(user, name)
        for sub in list(elem):
            elem.remove(sub)
        elem.text = text
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


# ---- RIFF INFO ----------------------------------------------------------------------------


def iter_info(payload: bytes) -> Iterator[tuple[str, bytes]]:
    """``(id, raw bytes)`` of each sub-chunk of a ``LIST`` payload that starts with ``INFO``;
    stops quietly at a truncated or non-chunk entry."""
    pos = 4
    while pos + 8 <= len(payload):
        tag = payload[pos : pos + 4]
        if not all(0x20 <= b <= 0x7E for b in tag):
            return
        (size,) = struct.unpack_from("<I", payload, pos + 4)
        start = pos + 8
        if start + size > len(payload):
            return
        yield tag.decode("latin-1"), payload[start : start + size]
        pos = start + size + (size & 1)


def parse_info(payload: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Parse a ``LIST/INFO`` payload into ``(field, value, source)`` triples and warnings."""
    out: list[tuple[str, str, str]] = []
    for cid, raw in iter_info(payload):
        field = INFO_FIELDS.get(cid, cid.lower())
        out.append((field, decode_text(raw), f"info:{cid}"))
    return [t for t in out if t[1]], []


def info_values(payload: bytes | None) -> dict[str, str]:
    """INFO id -> text of a ``LIST/INFO`` payload (first of each id)."""
    out: dict[str, str] = {}
    if payload:
        for cid, raw in iter_info(payload):
            out.setdefault(cid, decode_text(raw))
    return out


def build_info(existing: bytes | None, values: Mapping[str, str]) -> bytes | None:
    """A ``LIST`` payload (``b"INFO"`` + sub-chunks) with ``values`` (INFO id -> text, ``""``
    removes) set; other sub-chunks of ``existing`` kept byte for byte and in order. ``None``
    when nothing is left (the chunk should be removed)."""
    entries: list[tuple[str, bytes]] = list(iter_info(existing)) if existing else []
    done: set[str] = set()
    result: list[tuple[str, bytes]] = []
    for cid, raw in entries:
        if cid in values:
            if cid in done or values[cid] == "":
                continue
            result.append((cid, values[cid].encode("utf-8") + b"\0"))
            done.add(cid)
        else:
            result.append((cid, raw))
    for cid, text in values.items():
        if cid not in done and text != "":
            result.append((cid, text.encode("utf-8") + b"\0"))
    if not result:
        return None
    body = bytearray(b"INFO")
    for cid, raw in result:
        body += cid.encode("latin-1") + struct.pack("<I", len(raw)) + raw
        if len(raw) & 1:
            body += b"\0"
    return bytes(body)
