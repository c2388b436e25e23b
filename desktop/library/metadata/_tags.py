"""ID3, Vorbis comment, MP4, APEv2 and ASF tags through mutagen: read, plan, write, restore.

mutagen (GPL-2.0-or-later) is the maintained reader and writer for these formats; it is used
only here, so it can be swapped without touching the rest. It is always given a file Earmark
opened itself, wrapped so that a tag claiming an absurd size cannot make it allocate that much,
and every exception it raises on a hostile file becomes a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, BinaryIO

import mutagen
import mutagen.aiff
import mutagen.flac
import mutagen.id3
import mutagen.mp4
import mutagen.oggflac
import mutagen.oggopus
import mutagen.oggspeex
import mutagen.oggvorbis

from desktop.library.metadata._io import BoundedReader
from desktop.library.metadata.bwf import IXML_USER_FIELDS
from desktop.library.metadata.types import TagUpdate, UnsupportedFormatError

__all__ = [
    "WRITABLE",
    "apply_update",
    "current_values",
    "id3_values",
    "read_tags",
    "restore_values",
    "target_values",
]

log = logging.getLogger(__name__)

#: Containers whose tags Earmark writes through mutagen.
WRITABLE = frozenset({"mp3", "aiff", "flac", "ogg", "mp4"})

#: Exceptions mutagen (or struct/zlib below it) raises on malformed input.
_READ_ERRORS = (
    mutagen.MutagenError,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    UnicodeError,
    AttributeError,
    AssertionError,
    MemoryError,
)

# Upper-case tag name -> canonical field, shared by Vorbis comments, APEv2 and TXXX/freeform.
_NAMED = {
    **IXML_USER_FIELDS,
    "TITLE": "title",
    "COMMENT": "comment",
    "ALBUM": "album",
    "GENRE": "genre",
    "DATE": "date",
    "YEAR": "date",
    "COPYRIGHT": "copyright",
    "ENCODER": "software",
    "ENCODED-BY": "software",
}
_ID3_FRAMES = {
    "TIT2": "title",
    "TPE1": "artist",
    "TALB": "album",
    "TCON": "genre",
    "TDRC": "date",
    "TYER": "date",
    "TCOP": "copyright",
    "TSSE": "software",
    "TENC": "software",
    "TIT1": "grouping",
    "TIT3": "subtitle",
    "TCOM": "composer",
}
_MP4_ATOMS = {
    "©nam": "title",
    "desc": "description",
    "ldes": "description",
    "©cmt": "comment",
    "©ART": "artist",
    "©alb": "album",
    "©gen": "genre",
    "©day": "date",
    "cprt": "copyright",
    "©too": "software",
    "keyw": "keywords",
    "©grp": "grouping",
}
_ASF = {
    "Title": "title",
    "Description": "description",
    "Author": "artist",
    "Copyright": "copyright",
    "WM/AlbumTitle": "album",
    "WM/Genre": "genre",
    "WM/Year": "date",
    "WM/EncodingSettings": "software",
}
_BINARY_KEYS = {"METADATA_BLOCK_PICTURE", "COVERART", "COVER ART (FRONT)", "COVER ART (BACK)"}
_ITUNES = "----:com.apple.iTunes:"
_UPPER_NAME = {field: name for name, field in IXML_USER_FIELDS.items()}
_UPPER_NAME.update({"title": "TITLE"})


def _named(name: str) -> str:
    return _NAMED.get(name.upper(), name.lower())


def id3_values(tags: mutagen.id3.ID3) -> list[tuple[str, str, str]]:
    """``(field, value, source)`` triples from an ID3 tag (MP3, AIFF, or a WAV ``id3 ``
    chunk)."""
    out: list[tuple[str, str, str]] = []
    for frame in tags.values():
        fid = frame.FrameID
        if fid == "COMM":
            desc = str(getattr(frame, "desc", ""))
            if desc.startswith("iTun"):
                continue  # iTunes' normalisation and gapless data, not words
            text = "\n".join(str(t) for t in frame.text)
            if desc:
                out.append(("comment", text, f"id3:COMM:{desc}"))
            else:
                out.append(("description", text, "id3:COMM"))
        elif fid == "TXXX":
            desc = str(frame.desc)
            out.append((_named(desc), "; ".join(str(t) for t in frame.text), f"id3:TXXX:{desc}"))
        elif fid in _ID3_FRAMES:
            out.append((_ID3_FRAMES[fid], "; ".join(str(t) for t in frame.text), f"id3:{fid}"))
    return [(f, v.strip(), s) for f, v, s in out if v.strip()]


def _load(handle: BinaryIO) -> Any:
    handle.seek(0)
    return mutagen.File(BoundedReader(handle))


def read_tags(handle: BinaryIO) -> tuple[str, list[tuple[str, str, str]], list[str]]:
    """Read the tags of a non-RIFF file: ``(container, triples, warnings)``."""
    try:
        audio = _load(handle)
    except _READ_ERRORS as exc:
        return "unknown", [], [f"tags could not be read ({type(exc).__name__}: {exc})"]
    if audio is None:
        return "unknown", [], []
    container = _container_of(audio)
    tags = audio.tags
    if tags is None:
        return container, [], []
    out: list[tuple[str, str, str]] = []
    try:
        if isinstance(tags, mutagen.id3.ID3):
            out = id3_values(tags)
        elif isinstance(tags, mutagen.mp4.MP4Tags):
            out = _mp4_values(tags)
        elif type(tags).__name__ == "ASFTags":
            out = _asf_values(tags)
        elif type(tags).__name__ == "APEv2":
            kind = "ape"
            for key, value in tags.items():
                if getattr(value, "kind", 0) == 0:  # text, not binary or external
                    out.append((_named(key), str(value), f"{kind}:{key}"))
        else:  # Vorbis comments (FLAC, Ogg Vorbis/Opus/Speex/FLAC)
            for key, value in tags:
                if key.upper() in _BINARY_KEYS:
                    continue
                out.append((_named(key), str(value), f"vorbis:{key.upper()}"))
    except _READ_ERRORS as exc:
        return container, [], [f"tags could not be read ({type(exc).__name__}: {exc})"]
    return container, [(f, v.strip(), s) for f, v, s in out if v.strip()], []


def _container_of(audio: Any) -> str:
    if isinstance(audio, mutagen.flac.FLAC):
        return "flac"
    if isinstance(
        audio,
        mutagen.oggvorbis.OggVorbis
        | mutagen.oggopus.OggOpus
        | mutagen.oggflac.OggFLAC
        | mutagen.oggspeex.OggSpeex,
    ):
        return "ogg"
    if isinstance(audio, mutagen.mp4.MP4):
        return "mp4"
    if isinstance(audio, mutagen.aiff.AIFF):
        return "aiff"
    name = type(audio).__name__.lower()
    return {
        "mp3": "mp3",
        "easymp3": "mp3",
        "wavpack": "wavpack",
        "asf": "asf",
        "monkeysaudio": "ape",
        "trueaudio": "tta",
        "aac": "aac",
        "ac3": "ac3",
        "musepack": "mpc",
        "optimfrog": "ofr",
        "dsf": "dsf",
        "dsdiff": "dff",
        "wave": "wav",
    }.get(name, name)


def _mp4_values(tags: mutagen.mp4.MP4Tags) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for key, values in tags.items():
        if key.startswith("----:"):
            name = key.rsplit(":", 1)[-1]
            texts = []
            for v in values:
                try:
                    texts.append(bytes(v).decode("utf-8"))
                except UnicodeDecodeError:
                    continue
            out.append((_named(name), "; ".join(texts), f"mp4:{key}"))
        elif key in _MP4_ATOMS:
            out.append((_MP4_ATOMS[key], "; ".join(str(v) for v in values), f"mp4:{key}"))
    return out


def _asf_values(tags: Any) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for key, values in tags.items():
        texts = [str(v.value) for v in values if isinstance(getattr(v, "value", None), str)]
        if texts:
            field = _ASF.get(key, key.split("/")[-1].lower())
            out.append((field, "; ".join(texts), f"asf:{key}"))
    return out


# ---- writing ------------------------------------------------------------------------------


def _open_for_write(filething: str | BinaryIO) -> Any:
    if not isinstance(filething, str):
        filething.seek(0)
        filething = BoundedReader(filething)  # type: ignore[assignment]
    audio = mutagen.File(filething)
    if audio is None:
        raise UnsupportedFormatError("the file's format is not one Earmark writes tags into")
    if audio.tags is None:
        audio.add_tags()
    return audio


def _native_keys(container: str, field: str) -> list[str]:
    """Native places a canonical field is written to in a container."""
    upper = "TITLE" if field == "title" else _UPPER_NAME.get(field, field.upper())
    if container in ("mp3", "aiff"):
        if field == "description":
            return ["id3:COMM"]
        if field == "title":
            return ["id3:TIT2"]
        return [f"id3:TXXX:{upper}"]
    if container in ("flac", "ogg"):
        return [f"vorbis:{upper}"]
    if container == "mp4":
        if field == "description":
            return ["mp4:desc", "mp4:©cmt"]
        if field == "title":
            return ["mp4:©nam"]
        return [f"mp4:{_ITUNES}{upper}"]
    raise UnsupportedFormatError(f"Earmark does not write tags into {container} files yet")


def target_values(container: str, update: TagUpdate) -> dict[str, str | None]:
    """Native place -> text after the write (``None``: removed)."""
    out: dict[str, str | None] = {}
    for field, text in update.items():
        for key in _native_keys(container, field):
            out[key] = text or None
    return out


def _id3_frames(tags: mutagen.id3.ID3, key: str) -> list[Any]:
    if key == "id3:COMM":
        return [f for f in tags.getall("COMM") if not str(f.desc)]
    if key.startswith("id3:TXXX:"):
        desc = key[len("id3:TXXX:") :]
        return [f for f in tags.getall("TXXX") if str(f.desc).upper() == desc.upper()]
    return list(tags.getall(key[len("id3:") :]))


def _frame_json(frame: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "encoding": int(frame.encoding),
        "text": [str(t) for t in frame.text],
    }
    if hasattr(frame, "desc"):
        data["desc"] = str(frame.desc)
    if hasattr(frame, "lang"):
        data["lang"] = str(frame.lang)
    return data


def _mp4_get(tags: Any, atom: str) -> list[str] | None:
    if atom not in tags:
        return None
    if atom.startswith("----:"):
        return [bytes(v).decode("utf-8", errors="replace") for v in tags[atom]]
    return [str(v) for v in tags[atom]]


def current_values(filething: str | BinaryIO, container: str, keys: list[str]) -> dict[str, Any]:
    """The present state of native places, JSON-ready: ID3 -> list of frame dicts, others ->
    list of strings; ``None`` where absent. Reads only."""
    audio = _open_for_write(filething)
    tags = audio.tags
    out: dict[str, Any] = {}
    for key in keys:
        kind, _, name = key.partition(":")
        if kind == "id3":
            frames = _id3_frames(tags, key)
            out[key] = [_frame_json(f) for f in frames] or None
        elif kind == "vorbis":
            values = [v for k, v in tags if k.upper() == name]
            out[key] = values or None
        elif kind == "mp4":
            out[key] = _mp4_get(tags, name)
    return out


def expected_read(key: str, previous: Any) -> list[str]:
    """The values :func:`read_tags` reports at ``key`` once ``previous`` is restored."""
    if not previous:
        return []
    if key.startswith("id3:"):
        sep = "\n" if key == "id3:COMM" else "; "
        return [sep.join(item["text"]) for item in previous]
    if key.startswith("mp4:"):
        return ["; ".join(previous)]
    return [str(v) for v in previous]


def display_text(previous: Any) -> str | None:
    """The text a previous-state entry shows in a change list."""
    if not previous:
        return None
    texts: list[str] = []
    for item in previous:
        texts.extend(item["text"] if isinstance(item, dict) else [str(item)])
    return "\n".join(texts) or None


def _set(audio: Any, key: str, value: Any) -> None:
    """Set one native place: ``value`` is None (remove), a str (new text) or a previous-state
    list (restore)."""
    tags = audio.tags
    kind, _, name = key.partition(":")
    if kind == "id3":
        for frame in _id3_frames(tags, key):
            tags.delall(frame.HashKey)
        if value is None:
            return
        items: list[dict[str, Any]] = (
            [{"text": [value], "encoding": 3}] if isinstance(value, str) else list(value)
        )
        for item in items:
            enc = int(item.get("encoding", 3))
            if key == "id3:COMM":
                frame = mutagen.id3.COMM(
                    encoding=enc, lang=item.get("lang", "eng"), desc="", text=item["text"]
                )
            elif key.startswith("id3:TXXX:"):
                desc = item.get("desc", key[len("id3:TXXX:") :])
                frame = mutagen.id3.TXXX(encoding=enc, desc=desc, text=item["text"])
            else:
                frame = mutagen.id3.Frames[name](encoding=enc, text=item["text"])
            tags.add(frame)
    elif kind == "vorbis":
        # VComment iterates (key, value) pairs, so keys() is needed here.
        for existing in [k for k in tags.keys() if k.upper() == name]:  # noqa: SIM118
            del tags[existing]
        if value is not None:
            tags[name] = [value] if isinstance(value, str) else list(value)
    elif kind == "mp4":
        if name in tags:
            del tags[name]
        if value is None:
            return
        texts = [value] if isinstance(value, str) else list(value)
        if name.startswith("----:"):
            tags[name] = [
                mutagen.mp4.MP4FreeForm(t.encode("utf-8"), mutagen.mp4.AtomDataType.UTF8)
                for t in texts
            ]
        else:
            tags[name] = texts


def _save(audio: Any, original_id3: int | None) -> None:
    if isinstance(audio.tags, mutagen.id3.ID3):
        # Keep ID3v2.3 files at v2.3 (Windows and many tools read nothing newer).
        audio.save(v2_version=3 if original_id3 == 3 else 4)
    else:
        audio.save()


def apply_update(path: str, container: str, targets: Mapping[str, str | None]) -> None:
    """Write target texts into the file at ``path`` in place (a temp copy)."""
    audio = _open_for_write(path)
    version = audio.tags.version[1] if isinstance(audio.tags, mutagen.id3.ID3) else None
    for key, value in targets.items():
        _set(audio, key, value)
    _save(audio, version)


def restore_values(path: str, container: str, previous: Mapping[str, Any]) -> None:
    """Put previous-state entries (from :func:`current_values`) back into ``path``."""
    audio = _open_for_write(path)
    version = audio.tags.version[1] if isinstance(audio.tags, mutagen.id3.ID3) else None
    for key, value in previous.items():
        _set(audio, key, value if value else None)
    _save(audio, version)
