"""Hand-built RIFF files: the bytes are laid out here by hand, following EBU Tech 3285 (bext),
the iXML spec and the RIFF INFO spec, so they test Earmark's reader and writer against a
layout that Earmark's own writer did not produce."""

from __future__ import annotations

import struct

import numpy as np


def chunk(cid: bytes, payload: bytes, *, pad: bool = True) -> bytes:
    """A RIFF chunk: id, little-endian size, payload, pad byte when the size is odd."""
    out = cid + struct.pack("<I", len(payload)) + payload
    if pad and len(payload) % 2:
        out += b"\0"
    return out


def riff(*chunks: bytes, size_delta: int = 0) -> bytes:
    """A RIFF/WAVE file from chunks."""
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) + size_delta) + body


def fmt_pcm16(rate: int = 8000, channels: int = 1) -> bytes:
    """A ``fmt `` chunk for 16-bit PCM."""
    block = 2 * channels
    return chunk(b"fmt ", struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, 16))


def data_chunk(frames: int = 800, seed: int = 1) -> bytes:
    """A ``data`` chunk of int16 noise."""
    rng = np.random.default_rng(seed)
    return chunk(b"data", rng.integers(-20000, 20000, frames, dtype=np.int16).tobytes())


def bext(
    description: bytes,
    originator: bytes = b"Recorder X",
    reference: bytes = b"REF123",
    date: bytes = b"2024-05-06",
    time: bytes = b"07:08:09",
    time_reference: int = 48000 * 3600,
    version: int = 1,
    umid: bytes = b"",
    history: bytes = b"A=PCM,F=48000,W=24,M=stereo\r\n",
) -> bytes:
    """A bext chunk laid out by hand (602 fixed bytes, then CodingHistory)."""
    payload = (
        description.ljust(256, b"\0")[:256]
        + originator.ljust(32, b"\0")
        + reference.ljust(32, b"\0")
        + date
        + time
        + struct.pack("<IIH", time_reference & 0xFFFFFFFF, time_reference >> 32, version)
        + umid.ljust(64, b"\0")
        + b"\0" * 190
        + history
    )
    return chunk(b"bext", payload)


def info(**fields: str) -> bytes:
    """A LIST/INFO chunk with sub-chunks (id -> text), zero-terminated and padded."""
    body = b"INFO" + b"".join(
        chunk(cid.encode(), text.encode("utf-8") + b"\0") for cid, text in fields.items()
    )
    return chunk(b"LIST", body)


LIBRARY_IXML = """<?xml version="1.0" encoding="UTF-8"?>
<BWFXML>
  <IXML_VERSION>2.10</IXML_VERSION>
  <!-- written the way Soundminer and BaseHead do: no TRACK_LIST, fields under USER -->
  <PROJECT>Harbour Nights</PROJECT>
  <NOTE>recorded at dawn</NOTE>
  <USER>
    <DESCRIPTION>Foghorn wails across the harbour, gulls answer</DESCRIPTION>
    <KEYWORDS>foghorn, gulls, harbour</KEYWORDS>
    <CATEGORY>VEHICLES</CATEGORY>
    <SUBCATEGORY>HORN</SUBCATEGORY>
    <CATID>VEHHorn</CATID>
    <CATEGORYFULL>VEHICLES-HORN</CATEGORYFULL>
    <FXNAME>Foghorn Wail</FXNAME>
    <LIBRARY>Coastal Pack</LIBRARY>
    <DESIGNER>Ada Lovelace</DESIGNER>
    <NOTES>Mono, close</NOTES>
    <MICROPHONE>MKH 416</MICROPHONE>
  </USER>
</BWFXML>
"""


def library_wav(extra: tuple[bytes, ...] = ()) -> bytes:
    """A BWF as a sound library ships it: bext (UTF-8 description), iXML, INFO, an unknown
    chunk, then extra chunks after the data."""
    return riff(
        bext("Foghorn wails across the harbour — gulls".encode()),
        fmt_pcm16(),
        info(INAM="Foghorn", ICMT="Foghorn comment", IKEY="foghorn; lighthouse", IGNR="SFX"),
        chunk(b"iXML", LIBRARY_IXML.encode("utf-8")),
        chunk(b"junk", b"\x01\x02\x03"),
        data_chunk(),
        chunk(b"cue ", struct.pack("<I", 0)),
        *extra,
    )
