"""Writing tags: every format's native places, seen by independent readers (exiftool,
mediainfo), audio untouched (ffmpeg's decode hashes the same), undo, and the atomic write's
refusals and guarantees."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from desktop.library.metadata import (
    MetadataWriteError,
    TagUpdate,
    UndoRecord,
    UnsupportedFormatError,
    plan_tags,
    read_metadata,
    restore_tags,
    write_tags,
)
from desktop.library.metadata import write as write_module
from desktop.library.metadata.riff import parse_layout
from tests.metadata import _fixtures as fx
from tests.metadata.conftest import (
    WRITABLE,
    decoded_md5,
    exiftool_text,
    make_sound,
    mediainfo_text,
)

UPDATE = TagUpdate(
    description="Zebrafinch chirps over a quokka’s footsteps",
    keywords=("zebrafinch", "quokka", "footsteps"),
    title="Aviary Walk",
    category="BIRDS",
    subcategory="SONGBIRD",
    catid="BIRDSong",
    category_full="BIRDS-SONGBIRD",
    fxname="Aviary Walk",
    library="Narwhal Sounds",
    designer="Ottoline",
    notes="night take",
)


def _values(meta_values: object) -> list[tuple[str, str]]:
    return sorted((v.source, v.value) for v in meta_values)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", WRITABLE)
def test_write_every_format_independent_readers_and_audio(
    sounds: dict[str, Path], kind: str
) -> None:
    path = sounds[kind]
    md5_before = decoded_md5(path)
    original = path.read_bytes()
    meta_before = read_metadata(path)

    report = write_tags(path, UPDATE)
    assert report.written and report.undo is not None
    assert decoded_md5(path) == md5_before  # the audio, as ffmpeg decodes it, is unchanged

    meta = read_metadata(path)
    assert meta.description == UPDATE.description
    assert set(meta.keywords) == {"zebrafinch", "quokka", "footsteps"}
    assert meta.get("catid") == "BIRDSong"

    flat = exiftool_text(path)
    for word in ("Zebrafinch chirps", "quokka", "BIRDSong", "Narwhal Sounds", "Ottoline"):
        assert word in flat, f"exiftool does not see {word!r} in {kind}: {flat}"
    info = mediainfo_text(path)
    assert "Zebrafinch chirps" in info and "quokka" in info

    # Undo: WAV and FLAC come back byte for byte, the others to identical tags and audio.
    record = UndoRecord.from_json(json.loads(json.dumps(report.undo.to_json())))
    restore_tags(path, record)
    assert decoded_md5(path) == md5_before
    assert _values(read_metadata(path).values) == _values(meta_before.values)
    if kind in ("wav", "flac"):
        assert path.read_bytes() == original


def test_wav_native_places_and_unknown_chunks_kept(tmp_path: Path) -> None:
    path = tmp_path / "lib.wav"
    original = fx.library_wav(extra=(fx.chunk(b"smpl", b"\x07" * 37),))
    path.write_bytes(original)
    long_text = "A long description that goes on " * 12  # > 256 bytes
    write_tags(path, TagUpdate(description=long_text, keywords=("one", "two")))

    with open(path, "rb") as fh:
        layout = parse_layout(fh, os.path.getsize(path))
    assert layout is not None and layout.write_refusal is None
    with open(tmp_path / "lib.wav", "rb") as fh:
        new_bytes = fh.read()
    for cid in (b"junk", b"cue ", b"smpl", b"data", b"fmt "):
        old = original[original.index(cid) :]
        size = int.from_bytes(old[4:8], "little")
        raw = old[: 8 + size + (size & 1)]
        assert raw in new_bytes, f"{cid!r} was not kept byte for byte"
    src = {v.source: v.value for v in read_metadata(path).values}
    assert len(src["bext:Description"].encode()) <= 256
    assert long_text.strip().startswith(src["bext:Description"])
    assert src["ixml:USER/DESCRIPTION"] == long_text.strip()
    assert src["info:ICMT"] == long_text.strip()
    assert src["info:IKEY"] == "one; two"
    # Fields not written are kept: the other bext fields, iXML's PROJECT and USER/MICROPHONE.
    assert src["bext:Originator"] == "Recorder X"
    assert src["ixml:PROJECT"] == "Harbour Nights"
    assert src["ixml:USER/MICROPHONE"] == "MKH 416"
    assert src["info:IGNR"] == "SFX"


def test_new_chunks_go_in_and_undo_takes_them_out(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    plain = fx.riff(fx.fmt_pcm16(), fx.data_chunk())
    path.write_bytes(plain)
    report = write_tags(path, TagUpdate(description="hello"))
    with open(path, "rb") as fh:
        layout = parse_layout(fh, os.path.getsize(path))
    assert layout is not None
    assert [c.key for c in layout.chunks] == ["bext", "fmt ", "iXML", "LIST-INFO", "data"]
    assert report.undo is not None
    restore_tags(path, report.undo)
    assert path.read_bytes() == plain


def test_dry_run_and_no_change(sounds: dict[str, Path]) -> None:
    path = sounds["flac"]
    before = path.read_bytes()
    plan = plan_tags(path, TagUpdate(description="planned"))
    assert [c.source for c in plan.changes] == ["vorbis:DESCRIPTION"]
    assert not plan.written and plan.undo is None
    assert path.read_bytes() == before
    write_tags(path, TagUpdate(description="planned"))
    again = write_tags(path, TagUpdate(description="planned"))
    assert again.changes == () and not again.written


def test_clearing_a_field_and_its_undo(sounds: dict[str, Path]) -> None:
    path = sounds["mp3"]
    write_tags(path, TagUpdate(description="to be removed", keywords=("k",)))
    report = write_tags(path, TagUpdate(description=""))
    assert read_metadata(path).get("description") is None
    assert read_metadata(path).keywords == ("k",)
    assert report.undo is not None
    restore_tags(path, report.undo)
    assert read_metadata(path).description == "to be removed"


def test_permissions_and_mtime(sounds: dict[str, Path]) -> None:
    path = sounds["wav"]
    os.chmod(path, 0o640)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    write_tags(path, TagUpdate(description="kept"), keep_mtime=True)
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_mtime_ns == 1_000_000_000_000_000_000
    write_tags(path, TagUpdate(description="moved on"))
    assert os.stat(path).st_mtime_ns != 1_000_000_000_000_000_000
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".earmark-tmp")]


def test_symlink_is_followed_and_hardlinks_refused(sounds: dict[str, Path], tmp_path: Path) -> None:
    target = sounds["ogg"]
    link = tmp_path / "link.ogg"
    link.symlink_to(target)
    write_tags(link, TagUpdate(description="through the link"))
    assert link.is_symlink()
    assert read_metadata(target).description == "through the link"
    hard = tmp_path / "hard.ogg"
    os.link(target, hard)
    with pytest.raises(MetadataWriteError, match="hard links"):
        write_tags(hard, TagUpdate(description="x"))


def test_failed_verification_leaves_the_file_untouched(
    sounds: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for kind in ("wav", "m4a"):
        path = sounds[kind]
        before = path.read_bytes()

        def corrupt(tmp_path: str, digest: str) -> None:
            raise MetadataWriteError("the audio of the new file would differ from the original")

        monkeypatch.setattr(write_module, "_verify_audio", corrupt)
        with pytest.raises(MetadataWriteError, match="would differ"):
            write_tags(path, TagUpdate(description="never lands"))
        assert path.read_bytes() == before
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".earmark-tmp")]
        monkeypatch.undo()


def test_audio_changing_write_is_caught(
    sounds: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sounds["wav"]
    before = path.read_bytes()
    real_rewrite = write_module.rewrite_riff

    def sabotage(src, layout, dst, replacements):  # type: ignore[no-untyped-def]
        real_rewrite(src, layout, dst, replacements)
        dst.seek(-100, os.SEEK_END)
        dst.write(b"\x55" * 100)  # flip the last samples

    monkeypatch.setattr(write_module, "rewrite_riff", sabotage)
    with pytest.raises(MetadataWriteError, match="audio"):
        write_tags(path, TagUpdate(description="x"))
    assert path.read_bytes() == before


def test_refusals(tmp_path: Path, sounds: dict[str, Path]) -> None:
    bad_ixml = tmp_path / "badixml.wav"
    bad_ixml.write_bytes(
        fx.riff(fx.fmt_pcm16(), fx.chunk(b"iXML", b"<BWFXML><USER>"), fx.data_chunk())
    )
    before = bad_ixml.read_bytes()
    with pytest.raises(MetadataWriteError, match="not valid XML"):
        write_tags(bad_ixml, TagUpdate(description="x"))
    assert bad_ixml.read_bytes() == before

    truncated = tmp_path / "trunc.wav"
    truncated.write_bytes(fx.riff(fx.fmt_pcm16(), fx.data_chunk())[:-300])
    with pytest.raises(MetadataWriteError, match="truncated"):
        write_tags(truncated, TagUpdate(description="x"))

    rf64 = tmp_path / "big.wav"
    raw = bytearray(fx.riff(fx.chunk(b"ds64", b"\0" * 28), fx.fmt_pcm16(), fx.data_chunk()))
    raw[0:4] = b"RF64"
    rf64.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedFormatError, match="RF64"):
        write_tags(rf64, TagUpdate(description="x"))

    wv = make_sound(tmp_path, "wv")
    with pytest.raises(UnsupportedFormatError, match="wavpack"):
        write_tags(wv, TagUpdate(description="x"))

    # A restore onto a file whose audio changed is refused.
    report = write_tags(sounds["flac"], TagUpdate(description="first"))
    assert report.undo is not None
    other = make_sound(tmp_path / "o", "flac", seed=3)
    with pytest.raises(MetadataWriteError, match="not the one"):
        restore_tags(other, report.undo)


def test_update_mapping_and_json() -> None:
    update = TagUpdate.from_mapping({"description": "d", "keywords": "a, b; a"})
    assert update.keywords == ("a", "b")
    with pytest.raises(ValueError, match="unknown tag field"):
        TagUpdate.from_mapping({"colour": "red"})
    assert TagUpdate().is_empty()
