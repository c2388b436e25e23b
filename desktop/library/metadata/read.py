"""Read every metadata field a sound file carries into one :class:`FileMetadata`.

The container is recognised from its bytes, not its extension. RIFF/WAV (also RF64/BW64) and
AIFF are read by Earmark's own chunk reader: ``bext``, ``iXML``, ``LIST/INFO``, ``_PMX`` (XMP),
``id3 `` chunks, and AIFF's ``NAME``/``AUTH``/``ANNO``/``(c) ``/``COMT``/``ID3 ``. Everything
else goes through mutagen (ID3, Vorbis comments, MP4, APEv2, ASF). Reading never raises for
what is inside a file and never reads more than a fixed cap per chunk.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import xml.etree.ElementTree as ET
from typing import BinaryIO

import mutagen
import mutagen.id3

from desktop.library.metadata import bwf
from desktop.library.metadata._io import open_regular
from desktop.library.metadata._tags import _READ_ERRORS, id3_values, read_tags
from desktop.library.metadata.riff import RiffLayout, chunk_bytes, parse_layout
from desktop.library.metadata.types import FileMetadata, MetadataError, values_from_pairs

__all__ = ["read_metadata"]

log = logging.getLogger(__name__)

#: Largest chunk payload read per kind; bigger ones are reported and skipped.
_LIMITS = {"bext": 1 << 20, "iXML": bwf.MAX_IXML_BYTES, "LIST": 1 << 20, "_PMX": 4 << 20}
_ID3_LIMIT = 16 << 20
_TEXT_LIMIT = 1 << 20
_AIFF_TEXT = {"NAME": "title", "AUTH": "artist", "ANNO": "description", "(c) ": "copyright"}


def read_metadata(path: str | os.PathLike[str]) -> FileMetadata:
    """Everything the file says about itself.

    Never raises for file contents: a missing or unreadable file, a truncated chunk, invalid
    iXML or a broken tag becomes a warning in the result (``container`` is ``"unknown"``
    when the file could not be opened at all).
    """
    try:
        handle, st = open_regular(path)
    except MetadataError as exc:
        return FileMetadata("unknown", warnings=(str(exc),))
    with handle:
        try:
            layout = parse_layout(handle, st.st_size)
            if layout is not None:
                return _read_riff(handle, layout)
            container, triples, warnings = read_tags(handle)
        except OSError as exc:
            return FileMetadata("unknown", warnings=(f"cannot read file: {exc.strerror or exc}",))
    return FileMetadata(container, values_from_pairs(triples), tuple(warnings))


def _read_riff(handle: BinaryIO, layout: RiffLayout) -> FileMetadata:
    triples: list[tuple[str, str, str]] = []
    warnings = list(layout.problems)
    seen: set[str] = set()
    for chunk in layout.chunks:
        key = chunk.key
        if key in seen and key in ("bext", "iXML", "LIST-INFO"):
            warnings.append(f"a second '{key}' chunk was ignored")
            continue
        seen.add(key)
        cid = chunk.id
        if key in ("bext", "iXML", "LIST-INFO", "_PMX"):
            payload = chunk_bytes(handle, chunk, _LIMITS[cid])
            if payload is None:
                warnings.append(f"'{cid}' chunk of {chunk.size} bytes is too large; not read")
                continue
            parser = {
                "bext": bwf.parse_bext,
                "iXML": bwf.parse_ixml,
                "LIST-INFO": bwf.parse_info,
                "_PMX": _parse_xmp,
            }[key]
            found, problems = parser(payload)
            triples.extend(found)
            warnings.extend(problems)
        elif cid in ("id3 ", "ID3 "):
            payload = chunk_bytes(handle, chunk, _ID3_LIMIT)
            if payload is None:
                warnings.append(f"'{cid}' chunk of {chunk.size} bytes is too large; not read")
                continue
            try:
                triples.extend(id3_values(mutagen.id3.ID3(io.BytesIO(payload))))
            except _READ_ERRORS as exc:
                warnings.append(f"ID3 chunk could not be read ({type(exc).__name__})")
        elif layout.big_endian and cid in _AIFF_TEXT:
            payload = chunk_bytes(handle, chunk, _TEXT_LIMIT)
            if payload:
                triples.append((_AIFF_TEXT[cid], bwf.decode_text(payload), f"aiff:{cid.strip()}"))
        elif layout.big_endian and cid == "COMT":
            payload = chunk_bytes(handle, chunk, _TEXT_LIMIT)
            triples.extend(_parse_comt(payload or b""))
    return FileMetadata(
        layout.container,
        values_from_pairs(triples),
        tuple(warnings),
        tuple(c.id for c in layout.chunks),
    )


def _parse_comt(payload: bytes) -> list[tuple[str, str, str]]:
    """AIFF ``COMT``: a count, then (timestamp, marker, length, text) records."""
    out: list[tuple[str, str, str]] = []
    if len(payload) < 2:
        return out
    (count,) = struct.unpack_from(">H", payload, 0)
    pos = 2
    for _ in range(count):
        if pos + 8 > len(payload):
            break
        (length,) = struct.unpack_from(">H", payload, pos + 6)
        text = payload[pos + 8 : pos + 8 + length]
        out.append(("comment", bwf.decode_text(text), "aiff:COMT"))
        pos += 8 + length + (length & 1)
    return out


_XMP_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _parse_xmp(payload: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """XMP (Adobe Audition's ``_PMX`` chunk): dc:title, dc:description, dc:subject."""
    data = payload.rstrip(b"\0 \t\r\n")
    if not data or _DOCTYPE.search(data):
        return [], []
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return [], ["XMP chunk is not valid XML; not read"]
    out: list[tuple[str, str, str]] = []
    for name, field in (
        ("title", "title"),
        ("description", "description"),
        ("subject", "keywords"),
    ):
        for elem in root.iter(f"{{{_XMP_NS['dc']}}}{name}"):
            items = [li.text or "" for li in elem.iter(f"{{{_XMP_NS['rdf']}}}li")]
            text = ", ".join(i.strip() for i in items if i.strip()) if field == "keywords" else ""
            if not text:
                text = " ".join(i.strip() for i in items if i.strip()) or (elem.text or "")
            out.append((field, text.strip(), f"xmp:dc:{name}"))
    return out, []
