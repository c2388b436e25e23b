"""Reading embedded metadata: BWF/iXML/INFO by hand-built fixtures, tags written by mutagen
(not Earmark's writer), and hostile files that must never crash or allocate."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import mutagen.flac
import mutagen.id3
import mutagen.mp4
import mutagen.oggopus
import mutagen.oggvorbis
import numpy as np
import pytest

from desktop.library.metadata import FileMetadata, read_metadata
from tests.metadata import _fixtures as fx
from tests.metadata.conftest import make_sound


def _sources(meta: FileMetadata) -> dict[str, str]:
    return {v.source: v.value for v in meta.values}


def test_library_bwf_every_field_with_its_source(tmp_path: Path) -> None:
    path = tmp_path / "foghorn.wav"
    path.write_bytes(fx.library_wav())
    meta = read_metadata(path)
    src = _sources(meta)
    assert meta.container == "wav"
    assert meta.warnings == ()
    assert src["bext:Description"] == "Foghorn wails across the harbour — gulls"  # UTF-8 bext
    assert src["bext:Originator"] == "Recorder X"
    assert src["bext:OriginatorReference"] == "REF123"
    assert src["bext:OriginationDate"] == "2024-05-06"
    assert src["bext:OriginationTime"] == "07:08:09"
    assert src["bext:TimeReference"] == str(48000 * 3600)
    assert src["bext:CodingHistory"].startswith("A=PCM")
    assert src["ixml:USER/CATID"] == "VEHHorn"
    assert src["ixml:USER/MICROPHONE"] == "MKH 416"
    assert src["ixml:PROJECT"] == "Harbour Nights"
    assert src["ixml:NOTE"] == "recorded at dawn"
    assert src["info:IKEY"] == "foghorn; lighthouse"
    assert src["info:IGNR"] == "SFX"
    # Best values: iXML USER wins over bext and INFO.
    assert meta.description == "Foghorn wails across the harbour, gulls answer"
    assert meta.get("catid") == "VEHHorn"
    assert meta.get("category_full") == "VEHICLES-HORN"
    assert meta.get("fxname") == "Foghorn Wail"
    assert meta.get("library") == "Coastal Pack"
    assert meta.get("designer") == "Ada Lovelace"
    assert meta.get("microphone") == "MKH 416"
    assert meta.keywords == ("foghorn", "gulls", "harbour", "lighthouse")
    assert meta.chunks == ("bext", "fmt ", "LIST", "iXML", "junk", "data", "cue ")
    assert "Harbour Nights" in meta.search_text()
    assert FileMetadata.from_json(meta.to_json()) == meta


def test_bext_description_longer_text_in_ixml_wins(tmp_path: Path) -> None:
    full = "word " * 80  # 400 bytes: bext holds only the first 256
    ixml = f"<BWFXML><USER><DESCRIPTION>{full.strip()}</DESCRIPTION></USER></BWFXML>"
    path = tmp_path / "long.wav"
    path.write_bytes(
        fx.riff(
            fx.bext(full.encode()[:256]),
            fx.fmt_pcm16(),
            fx.chunk(b"iXML", ixml.encode()),
            fx.data_chunk(),
        )
    )
    assert read_metadata(path).description == full.strip()


def test_cp1252_bext_and_v2_loudness(tmp_path: Path) -> None:
    payload = bytearray(fx.bext("Café crème".encode("cp1252"), version=2)[8:])
    struct.pack_into("<hhh", payload, 412, -2300, 550, -100)
    path = tmp_path / "cafe.wav"
    path.write_bytes(fx.riff(fx.chunk(b"bext", bytes(payload)), fx.fmt_pcm16(), fx.data_chunk()))
    src = _sources(read_metadata(path))
    assert src["bext:Description"] == "Café crème"
    assert (
        src["bext:Loudness"] == "LoudnessValue=-23.00, LoudnessRange=5.50, MaxTruePeakLevel=-1.00"
    )


def test_id3_chunk_in_wav_and_aiff_text_chunks(tmp_path: Path) -> None:
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.COMM(encoding=3, lang="eng", desc="", text=["wav id3 comment"]))
    tags.add(mutagen.id3.TXXX(encoding=3, desc="KEYWORDS", text=["alpha, beta"]))
    import io

    buf = io.BytesIO()
    tags.save(buf)
    wav = tmp_path / "id3.wav"
    wav.write_bytes(fx.riff(fx.fmt_pcm16(), fx.data_chunk(), fx.chunk(b"id3 ", buf.getvalue())))
    meta = read_metadata(wav)
    assert meta.description == "wav id3 comment"
    assert meta.keywords == ("alpha", "beta")

    aiff = make_sound(tmp_path, "aiff")
    raw = bytearray(aiff.read_bytes())
    extra = (
        b"NAME" + struct.pack(">I", 6) + b"Thunde" + b"ANNO" + struct.pack(">I", 9) + b"far storm\0"
    )
    raw += extra
    struct.pack_into(">I", raw, 4, len(raw) - 8)
    aiff.write_bytes(bytes(raw))
    meta = read_metadata(aiff)
    assert meta.container == "aiff"
    assert _sources(meta)["aiff:NAME"] == "Thunde"
    assert meta.description == "far storm"


def test_xmp_chunk(tmp_path: Path) -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description>'
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Kettle whistles</rdf:li>'
        "</rdf:Alt></dc:description><dc:subject><rdf:Bag><rdf:li>kettle</rdf:li>"
        "<rdf:li>steam</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    path = tmp_path / "xmp.wav"
    path.write_bytes(fx.riff(fx.fmt_pcm16(), fx.data_chunk(), fx.chunk(b"_PMX", xmp.encode())))
    meta = read_metadata(path)
    assert meta.description == "Kettle whistles"
    assert meta.keywords == ("kettle", "steam")


@pytest.mark.parametrize("kind", ["flac", "ogg", "opus"])
def test_vorbis_comments_written_by_mutagen(tmp_path: Path, kind: str) -> None:
    path = make_sound(tmp_path, kind)
    cls = {
        "flac": mutagen.flac.FLAC,
        "ogg": mutagen.oggvorbis.OggVorbis,
        "opus": mutagen.oggopus.OggOpus,
    }[kind]
    audio = cls(path)
    audio["DESCRIPTION"] = "Rain on a tin roof"
    audio["KEYWORDS"] = "rain, roof"
    audio["CATID"] = "RAINMetl"
    audio["LIBRARY"] = "Weather"
    audio.save()
    meta = read_metadata(path)
    assert meta.container == ("flac" if kind == "flac" else "ogg")
    assert meta.description == "Rain on a tin roof"
    assert meta.keywords == ("rain", "roof")
    assert meta.get("catid") == "RAINMetl"
    assert _sources(meta)["vorbis:LIBRARY"] == "Weather"


def test_id3_and_mp4_written_by_mutagen(tmp_path: Path) -> None:
    mp3 = make_sound(tmp_path, "mp3")
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TIT2(encoding=3, text=["Bell"]))
    tags.add(mutagen.id3.COMM(encoding=1, lang="eng", desc="", text=["Church bell tolls"]))
    tags.add(mutagen.id3.COMM(encoding=3, lang="eng", desc="iTunNORM", text=["0000"]))
    tags.add(mutagen.id3.TXXX(encoding=3, desc="CATEGORY", text=["BELLS"]))
    tags.save(mp3, v2_version=3)
    meta = read_metadata(mp3)
    assert meta.container == "mp3"
    assert meta.description == "Church bell tolls"
    assert meta.get("title") == "Bell"
    assert meta.get("category") == "BELLS"
    assert "0000" not in meta.search_text()

    m4a = make_sound(tmp_path, "m4a")
    audio = mutagen.mp4.MP4(m4a)
    audio["©cmt"] = ["Seagulls squabble"]
    audio["----:com.apple.iTunes:DESIGNER"] = [mutagen.mp4.MP4FreeForm(b"Grace Hopper")]
    audio.save()
    meta = read_metadata(m4a)
    assert meta.container == "mp4"
    assert meta.description == "Seagulls squabble"
    assert meta.get("designer") == "Grace Hopper"


def test_ffmpeg_written_info_and_bext(tmp_path: Path) -> None:
    import subprocess

    from tests.metadata.conftest import require_tool

    ffmpeg = require_tool("ffmpeg")
    src = make_sound(tmp_path, "wav", "src")
    out = tmp_path / "ff.wav"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-write_bext",
            "1",
            "-metadata",
            "description=ffmpeg bext words",
            "-metadata",
            "originator=ffmpegrec",
            "-metadata",
            "comment=ffmpeg info comment",
            "-metadata",
            "title=ffmpeg title",
            str(out),
        ],
        check=True,
    )
    src_map = _sources(read_metadata(out))
    assert src_map["bext:Description"] == "ffmpeg bext words"
    assert src_map["bext:Originator"] == "ffmpegrec"
    assert src_map["info:ICMT"] == "ffmpeg info comment"
    assert src_map["info:INAM"] == "ffmpeg title"


# ---- hostile files ------------------------------------------------------------------------


def test_truncated_at_every_offset_never_raises(tmp_path: Path) -> None:
    whole = fx.library_wav()
    path = tmp_path / "cut.wav"
    for cut in range(0, len(whole), 7):
        path.write_bytes(whole[:cut])
        meta = read_metadata(path)
        assert isinstance(meta, FileMetadata)
    path.write_bytes(whole[:1500])
    assert any("truncated" in w for w in read_metadata(path).warnings)


def test_absurd_sizes_are_not_allocated(tmp_path: Path) -> None:
    # Chunks claiming ~4 GiB inside a tiny file, and an ID3 tag claiming 256 MiB.
    huge = b"bext" + struct.pack("<I", 0xFFFFFFF0) + b"x" * 50
    path = tmp_path / "huge.wav"
    path.write_bytes(fx.riff(fx.fmt_pcm16(), huge))
    meta = read_metadata(path)
    assert any("truncated" in w for w in meta.warnings)
    mp3 = tmp_path / "huge.mp3"
    mp3.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\0" * 100)
    assert isinstance(read_metadata(mp3), FileMetadata)


def test_billion_laughs_ixml_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<BWFXML><USER><DESCRIPTION>&lol2;</DESCRIPTION></USER></BWFXML>"
    )
    path = tmp_path / "bomb.wav"
    path.write_bytes(fx.riff(fx.fmt_pcm16(), fx.data_chunk(), fx.chunk(b"iXML", bomb.encode())))
    meta = read_metadata(path)
    assert meta.description is None
    assert any("DOCTYPE" in w for w in meta.warnings)


def test_invalid_ixml_and_odd_bytes_become_warnings(tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    path.write_bytes(
        fx.riff(
            fx.fmt_pcm16(),
            fx.chunk(b"iXML", b"<BWFXML><USER><DESCRIPTION>oops</USER>"),
            fx.chunk(b"bext", b"\xff\xfe" * 40),  # short bext, not UTF-8
            fx.data_chunk(),
            b"\x00\x01\x02\x03garbage",
        )
    )
    meta = read_metadata(path)
    assert any("not valid XML" in w for w in meta.warnings)
    assert any("too short" in w for w in meta.warnings)
    assert any("not a chunk" in w for w in meta.warnings)


def test_random_bytes_and_non_regular_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    for i, head in enumerate([b"RIFF", b"FORM", b"fLaC", b"OggS", b"ID3\x03", b"\0\0\0\x20ftyp"]):
        path = tmp_path / f"rand{i}.bin"
        path.write_bytes(head + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
        assert isinstance(read_metadata(path), FileMetadata)
    assert read_metadata(tmp_path / "absent.wav").warnings == ("absent.wav: no such file",)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    meta = read_metadata(fifo)  # must not block
    assert meta.container == "unknown"
    assert "not a regular file" in meta.warnings[0]


def test_unpadded_odd_chunk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "unpadded.wav"
    path.write_bytes(
        fx.riff(
            fx.fmt_pcm16(),
            fx.chunk(
                b"LIST", b"INFO" + fx.chunk(b"ICMT", b"abc\0") + b"INAM\x03\0\0\0xyz", pad=False
            ),
            fx.chunk(b"odd ", b"12345", pad=False),
            fx.data_chunk(),
        )
    )
    meta = read_metadata(path)
    assert "data" in meta.chunks
    assert _sources(meta)["info:ICMT"] == "abc"
    assert any("not padded" in w for w in meta.warnings)


@pytest.mark.parametrize("kind", ["wav", "aiff", "flac", "mp3", "ogg", "opus", "m4a"])
def test_corrupted_tagged_files_never_raise(tmp_path: Path, kind: str) -> None:
    from desktop.library.metadata import TagUpdate, write_tags

    path = make_sound(tmp_path, kind)
    write_tags(path, TagUpdate(description="fuzz me", keywords=("a", "b"), catid="X"))
    original = bytearray(path.read_bytes())
    rng = np.random.default_rng(11)
    header_zone = min(len(original), 8192)  # where the tags live
    for _ in range(40):
        data = bytearray(original)
        for pos in rng.integers(0, header_zone, 12):
            data[pos] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        assert isinstance(read_metadata(path), FileMetadata)
