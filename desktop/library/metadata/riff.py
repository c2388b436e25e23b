"""A strict RIFF/IFF chunk reader and a RIFF rewriter that keeps every other chunk byte for byte.

Reading accepts what real files contain (RF64/BW64 with a ``ds64`` chunk, AIFF's big-endian
FORM, odd chunks without their pad byte, a RIFF size that is off) and records each oddity as
a problem instead of failing; it never reads a chunk payload here, only headers, so a chunk
claiming 4 GiB costs nothing. Writing is refused when the layout is not clean enough to
rewrite without guessing (a truncated chunk, bytes that are not chunks, RF64).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from desktop.library.metadata._io import copy_range, read_at
from desktop.library.metadata.types import MetadataWriteError, UnsupportedFormatError

__all__ = ["Chunk", "RiffLayout", "chunk_bytes", "parse_layout", "rewrite_riff"]

log = logging.getLogger(__name__)

#: More chunks than this in one file is not a sound file; stop instead of looping.
MAX_CHUNKS = 4096
_RIFF_MAX = 0xFFFFFFFF

#: Keys of the chunks the writer manages: a chunk id, or ``LIST-<type>`` for a LIST chunk.
MANAGED = ("bext", "iXML", "LIST-INFO")


def _printable(tag: bytes) -> bool:
    return len(tag) == 4 and all(0x20 <= b <= 0x7E for b in tag)


def _plausible(handle: BinaryIO, offset: int, endian: str, file_size: int) -> bool:
    """Whether a chunk header that fits in the file starts at ``offset`` (or the file ends)."""
    if offset >= file_size:
        return offset == file_size
    header = read_at(handle, offset, 8)
    if len(header) < 8 or not _printable(header[:4]):
        return False
    (size,) = struct.unpack(endian + "I", header[4:8])
    return offset + 8 + size <= file_size or size == _RIFF_MAX


@dataclass(frozen=True)
class Chunk:
    """One chunk's header.

    Attributes:
        id: The four-character id (``"fmt "``, ``"data"``, ``"LIST"``).
        offset: Offset of the 8-byte header in the file.
        size: Payload size (for RF64 ``data``, the 64-bit size from ``ds64``).
        list_type: For ``LIST`` chunks, the list type (``"INFO"``, ``"adtl"``).
        padded: Whether the pad byte after an odd payload is present in the file.
    """

    id: str
    offset: int
    size: int
    list_type: str | None = None
    padded: bool = True

    @property
    def key(self) -> str:
        """``id``, or ``LIST-<type>`` for LIST chunks."""
        return f"LIST-{self.list_type}" if self.id == "LIST" and self.list_type else self.id

    @property
    def data_offset(self) -> int:
        """Offset of the payload."""
        return self.offset + 8

    @property
    def end(self) -> int:
        """Offset just past the chunk as it sits in the file (pad byte included if present)."""
        return self.offset + 8 + self.size + (self.size & 1 if self.padded else 0)


@dataclass(frozen=True)
class RiffLayout:
    """The chunk structure of a RIFF (WAV/RF64/BW64) or IFF (AIFF/AIFF-C) file.

    Attributes:
        form: ``"RIFF"``, ``"RF64"``, ``"BW64"`` or ``"FORM"``.
        kind: ``"WAVE"``, ``"AIFF"`` or ``"AIFC"``.
        declared_size: The size field of the outer header (RF64: from ``ds64``).
        file_size: Bytes on disk.
        chunks: The chunks in file order.
        problems: Oddities met, each fit to show a user.
        write_refusal: Why this layout must not be rewritten, or ``None`` when it may be.
    """

    form: str
    kind: str
    declared_size: int
    file_size: int
    chunks: tuple[Chunk, ...]
    problems: tuple[str, ...]
    write_refusal: str | None

    @property
    def big_endian(self) -> bool:
        """IFF (AIFF) sizes are big-endian."""
        return self.form == "FORM"

    @property
    def container(self) -> str:
        """``"wav"``, ``"rf64"`` or ``"aiff"``."""
        if self.form == "FORM":
            return "aiff"
        return "wav" if self.form == "RIFF" else "rf64"

    def find(self, key: str) -> Chunk | None:
        """The first chunk with this key (``"bext"``, ``"LIST-INFO"``), or ``None``."""
        for chunk in self.chunks:
            if chunk.key == key:
                return chunk
        return None

    def find_all(self, key: str) -> list[Chunk]:
        """Every chunk with this key."""
        return [c for c in self.chunks if c.key == key]


def parse_layout(handle: BinaryIO, file_size: int) -> RiffLayout | None:
    """Read the chunk headers of a RIFF/IFF file; ``None`` when it is not one.

    Never raises for a malformed file: what cannot be understood is a problem in the result.
    """
    head = read_at(handle, 0, 12)
    if len(head) < 12:
        return None
    form, kind = head[:4].decode("latin-1"), head[8:12].decode("latin-1")
    if form in ("RIFF", "RF64", "BW64") and kind == "WAVE":
        endian = "<"
    elif form == "FORM" and kind in ("AIFF", "AIFC"):
        endian = ">"
    else:
        return None
    (declared,) = struct.unpack(endian + "I", head[4:8])
    problems: list[str] = []
    refusal: str | None = None
    if form != "RIFF" and endian == "<":
        refusal = f"{form} files (WAV over 4 GiB) are read but not written yet"
    chunks: list[Chunk] = []
    pos = 12
    ds64_data: int | None = None
    while pos + 8 <= file_size:
        if len(chunks) >= MAX_CHUNKS:
            problems.append(f"more than {MAX_CHUNKS} chunks; the rest was not read")
            refusal = refusal or "the file has an implausible number of chunks"
            break
        header = read_at(handle, pos, 12)
        tag = header[:4]
        if not _printable(tag):
            if all(b == 0 for b in header[:8]):
                problems.append(f"zero bytes after the last chunk at offset {pos}")
            else:
                problems.append(f"bytes that are not a chunk at offset {pos}")
            refusal = refusal or "the file has bytes that are not chunks"
            break
        (size,) = struct.unpack(endian + "I", header[4:8])
        cid = tag.decode("latin-1")
        if cid == "ds64" and form != "RIFF" and size >= 24:
            ds = read_at(handle, pos + 8, 24)
            if len(ds) == 24:
                riff64, data64, _ = struct.unpack("<QQQ", ds)
                declared = riff64
                ds64_data = data64
        if cid == "data" and size == _RIFF_MAX and ds64_data is not None:
            size = ds64_data
        list_type = None
        if cid == "LIST" and size >= 4 and len(header) == 12:
            list_type = header[8:12].decode("latin-1")
        available = file_size - (pos + 8)
        if size > available:
            problems.append(
                f"chunk '{cid}' claims {size} bytes but only {max(0, available)} remain "
                "(truncated file)"
            )
            refusal = refusal or f"the '{cid}' chunk is truncated"
            chunks.append(Chunk(cid, pos, max(0, available), list_type, padded=False))
            break
        padded = True
        nxt = pos + 8 + size + (size & 1)
        if size & 1:
            if nxt > file_size:
                padded = False  # the last chunk's pad byte is missing: common, harmless
                nxt = pos + 8 + size
            elif not _plausible(handle, nxt, endian, file_size) and _plausible(
                handle, pos + 8 + size, endian, file_size
            ):
                padded = False
                nxt = pos + 8 + size
                problems.append(f"chunk '{cid}' is not padded to an even size")
        chunks.append(Chunk(cid, pos, size, list_type, padded))
        pos = nxt
    if 0 < file_size - pos < 8 and not problems:
        problems.append(f"{file_size - pos} stray byte(s) at the end of the file")
    expected = declared + 8
    if form == "RIFF" and expected != file_size and abs(expected - file_size) > 1:
        problems.append(
            f"the header says {expected} bytes but the file has {file_size} (size field off)"
        )
    names = [c.key for c in chunks]
    for key in MANAGED:
        if names.count(key) > 1:
            refusal = refusal or f"the file has {names.count(key)} '{key}' chunks"
    if endian == "<" and "data" not in names:
        refusal = refusal or "the file has no 'data' chunk"
    return RiffLayout(form, kind, declared, file_size, tuple(chunks), tuple(problems), refusal)


def chunk_bytes(handle: BinaryIO, chunk: Chunk, limit: int) -> bytes | None:
    """A chunk's payload, or ``None`` when it is larger than ``limit`` (not read at all)."""
    if chunk.size > limit:
        return None
    return read_at(handle, chunk.data_offset, chunk.size)


def _header(cid: str, size: int) -> bytes:
    return cid.encode("latin-1") + struct.pack("<I", size)


def _emit(dst: BinaryIO, cid: str, payload: bytes) -> int:
    dst.write(_header(cid, len(payload)))
    dst.write(payload)
    if len(payload) & 1:
        dst.write(b"\0")
    return 8 + len(payload) + (len(payload) & 1)


def rewrite_riff(
    src: BinaryIO,
    layout: RiffLayout,
    dst: BinaryIO,
    replacements: Mapping[str, bytes | None],
) -> None:
    """Write a new RIFF/WAVE file: every chunk copied byte for byte except the managed ones.

    Args:
        src: The original file.
        layout: Its layout (from :func:`parse_layout`).
        dst: The new file, positioned at 0 and empty.
        replacements: Payload per managed key (``"bext"``, ``"iXML"``, ``"LIST-INFO"``; for
            LIST the payload starts with ``b"INFO"``), ``None`` to remove the chunk. A key
            absent from the file is inserted: ``bext`` before ``fmt ``, the others before
            ``data``. Keys not given are left alone.

    Raises:
        UnsupportedFormatError: Not a RIFF/WAVE file Earmark writes (RF64, AIFF).
        MetadataWriteError: The layout may not be rewritten, or the result would pass 4 GiB.
    """
    if layout.form != "RIFF" or layout.kind != "WAVE":
        raise UnsupportedFormatError(
            layout.write_refusal or f"{layout.form}/{layout.kind} files are not written as RIFF"
        )
    if layout.write_refusal:
        raise MetadataWriteError(f"{layout.write_refusal}; the file was not changed")
    unknown = set(replacements) - set(MANAGED)
    if unknown:
        raise ValueError(f"not a managed chunk: {sorted(unknown)}")
    present = {c.key for c in layout.chunks}
    inserts_before: dict[str, list[str]] = {"fmt ": [], "data": []}
    for key, payload in replacements.items():
        if key not in present and payload is not None:
            inserts_before["fmt " if key == "bext" else "data"].append(key)

    def list_id(key: str) -> str:
        return "LIST" if key.startswith("LIST-") else key

    total = 4  # "WAVE"
    plan: list[Chunk | tuple[str, bytes]] = []  # a chunk to copy, or (id, payload) to emit
    for chunk in layout.chunks:
        for key in inserts_before.get(chunk.id, ()):
            payload = replacements[key]
            assert payload is not None
            plan.append((list_id(key), payload))
            total += 8 + len(payload) + (len(payload) & 1)
        if chunk.key in replacements:
            payload = replacements[chunk.key]
            if payload is not None:
                plan.append((chunk.id, payload))
                total += 8 + len(payload) + (len(payload) & 1)
            continue
        plan.append(chunk)
        total += 8 + chunk.size + (chunk.size & 1)
    if total > _RIFF_MAX:
        raise MetadataWriteError(
            "the file would grow past 4 GiB, which needs RF64; the file was not changed"
        )
    dst.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
    for item in plan:
        if not isinstance(item, Chunk):
            _emit(dst, item[0], item[1])
            continue
        chunk = item
        dst.write(read_at(src, chunk.offset, 8))
        copied = copy_range(src, dst, chunk.data_offset, chunk.size)
        if copied != chunk.size:
            raise MetadataWriteError(
                f"the '{chunk.id}' chunk could not be read in full; the file was not changed"
            )
        if chunk.size & 1:
            # Keep the original pad byte when there is one (some writers put non-zero there).
            pad = read_at(src, chunk.data_offset + chunk.size, 1) if chunk.padded else b""
            dst.write(pad or b"\0")
