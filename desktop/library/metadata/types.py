"""Plain data of embedded metadata: what a file says about itself, what to write, what to undo.

Everything here is a frozen dataclass that turns into JSON-ready dicts and back, so the library
can store a read result (one row per value) and an undo record (one JSON document per write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "FIELDS",
    "FieldChange",
    "FileMetadata",
    "MetadataError",
    "MetadataValue",
    "MetadataWriteError",
    "TagUpdate",
    "UndoRecord",
    "UnsupportedFormatError",
    "WriteReport",
    "split_keywords",
]

#: Canonical field names, in the order a detail panel shows them. Values read from a file
#: whose native name has no canonical equivalent keep a lower-case field name of their own
#: (``"microphone"``, ``"show"``), so nothing a file says is dropped.
FIELDS: tuple[str, ...] = (
    "description",
    "title",
    "keywords",
    "category",
    "subcategory",
    "catid",
    "category_full",
    "fxname",
    "library",
    "designer",
    "notes",
    "comment",
    "artist",
    "album",
    "genre",
    "date",
    "copyright",
    "originator",
    "originator_reference",
    "origination_date",
    "origination_time",
    "time_reference",
    "umid",
    "coding_history",
    "loudness",
    "project",
    "scene",
    "take",
    "tape",
    "software",
)


class MetadataError(Exception):
    """Base class of metadata errors; every message can be shown to a user as is."""


class UnsupportedFormatError(MetadataError):
    """Earmark cannot write tags into this kind of file (it can still read what it can)."""


class MetadataWriteError(MetadataError):
    """A write was refused or failed; the file on disk is unchanged."""


def split_keywords(text: str) -> tuple[str, ...]:
    """Split a keyword field into keywords.

    Library tools separate keywords with commas (Soundminer, iXML), semicolons (RIFF INFO
    ``IKEY``) or, rarely, both; empty pieces and duplicates (case-insensitive) are dropped,
    first spelling kept.
    """
    pieces = text.replace(";", ",").split(",")
    seen: set[str] = set()
    out: list[str] = []
    for piece in pieces:
        word = " ".join(piece.split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class MetadataValue:
    """One value a file carries, and where it came from.

    Attributes:
        field: Canonical field name (see :data:`FIELDS`) or the native name in lower case.
        value: The text, decoded and stripped of padding; never empty.
        source: The native place, ``"<kind>:<name>"``: ``"bext:Description"``,
            ``"ixml:USER/DESCRIPTION"``, ``"ixml:NOTE"``, ``"info:ICMT"``, ``"id3:COMM"``,
            ``"id3:TXXX:KEYWORDS"``, ``"vorbis:DESCRIPTION"``, ``"mp4:©cmt"``, ``"ape:Comment"``,
            ``"aiff:ANNO"``.
    """

    field: str
    value: str
    source: str

    def to_json(self) -> dict[str, str]:
        """``{"field", "value", "source"}``."""
        return {"field": self.field, "value": self.value, "source": self.source}


#: Which native places win when a field has several values: the first listed kind present.
#: iXML USER holds full text where bext is cut at 256 bytes; a library tool's own convention
#: beats a generic player tag.
_SOURCE_PRIORITY = ("ixml:USER", "bext", "ixml", "vorbis", "mp4", "id3", "ape", "asf", "info")


def _priority(source: str) -> int:
    for rank, prefix in enumerate(_SOURCE_PRIORITY):
        if source.startswith(prefix):
            return rank
    return len(_SOURCE_PRIORITY)


@dataclass(frozen=True)
class FileMetadata:
    """Everything one file says about itself, normalised.

    Attributes:
        container: What the bytes are (``"wav"``, ``"rf64"``, ``"aiff"``, ``"flac"``, ``"ogg"``,
            ``"mp3"``, ``"mp4"``, ``"caf"``, ``"wavpack"``, ``"asf"``, or ``"unknown"``).
        values: Every value found, in file order within each source.
        warnings: Problems met while reading (a truncated chunk, iXML that is not XML, a tag
            too large to read); each fit to show a user. Reading never raises for them.
        chunks: For RIFF/AIFF files, the chunk ids in file order (``("fmt ", "bext", "data")``),
            for the detail panel and diagnostics; empty for other containers.
    """

    container: str
    values: tuple[MetadataValue, ...] = ()
    warnings: tuple[str, ...] = ()
    chunks: tuple[str, ...] = ()

    def all(self, field_name: str) -> tuple[MetadataValue, ...]:
        """Every value of one field, best source first (see :meth:`get`)."""
        found = [v for v in self.values if v.field == field_name]
        return tuple(sorted(found, key=lambda v: _priority(v.source)))

    def get(self, field_name: str) -> str | None:
        """The best value of a field, or ``None``.

        Priority: iXML ``USER`` (full text), bext, other iXML, then Vorbis/MP4/ID3/APE/ASF
        tags, then RIFF INFO. For ``description``, a longer value that starts with a
        shorter, better-ranked one wins (bext holds the first 256 bytes of the iXML text).
        """
        found = self.all(field_name)
        if not found:
            return None
        best = found[0].value
        for other in found[1:]:
            if len(other.value) > len(best) and other.value.startswith(best):
                best = other.value
        return best

    @property
    def description(self) -> str | None:
        """The file's own description: the best ``description``, else ``comment``, else
        ``title``; what the library offers as the starting caption (marked as the file's)."""
        return self.get("description") or self.get("comment") or self.get("title")

    @property
    def keywords(self) -> tuple[str, ...]:
        """Keywords from every keyword field, best source first, duplicates dropped."""
        text = ", ".join(v.value for v in self.all("keywords"))
        return split_keywords(text)

    def fields_present(self) -> tuple[str, ...]:
        """Field names that have at least one value, canonical ones first in :data:`FIELDS`
        order, then the rest sorted."""
        names = {v.field for v in self.values}
        known = [f for f in FIELDS if f in names]
        return (*known, *sorted(names - set(known)))

    def search_text(self) -> str:
        """All distinct values joined by newlines: what a full-text index needs."""
        seen: set[str] = set()
        parts: list[str] = []
        for v in self.values:
            if v.field in ("umid", "time_reference", "loudness", "coding_history"):
                continue  # identifiers and numbers, not words anyone searches for
            if v.value not in seen:
                seen.add(v.value)
                parts.append(v.value)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""
        return {
            "container": self.container,
            "values": [v.to_json() for v in self.values],
            "warnings": list(self.warnings),
            "chunks": list(self.chunks),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileMetadata:
        """Rebuild from :meth:`to_json` output."""
        return cls(
            container=str(data.get("container", "unknown")),
            values=tuple(
                MetadataValue(str(v["field"]), str(v["value"]), str(v["source"]))
                for v in data.get("values", ())
            ),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            chunks=tuple(str(c) for c in data.get("chunks", ())),
        )


@dataclass(frozen=True)
class TagUpdate:
    """What to write into a file. ``None`` leaves a field as it is; ``""`` (or ``()`` for
    keywords) removes it from every place Earmark writes it.

    Attributes:
        description: The description (caption). WAV: bext Description (first 256 bytes),
            iXML ``USER/DESCRIPTION`` and INFO ``ICMT`` (full text).
        keywords: Keywords, written comma-separated (INFO ``IKEY``: semicolon-separated).
        title: A short title (INFO ``INAM``, ID3 ``TIT2``, Vorbis ``TITLE``, MP4 ``©nam``).
        category: UCS category (``"DOORS"``).
        subcategory: UCS subcategory (``"WOOD"``).
        catid: UCS CatID (``"DOORWood"``).
        category_full: ``"DOORS-WOOD"``.
        fxname: The short effect name of a UCS file name.
        library: Library (collection) name.
        designer: Who made the sound.
        notes: Free notes.
    """

    description: str | None = None
    keywords: tuple[str, ...] | None = None
    title: str | None = None
    category: str | None = None
    subcategory: str | None = None
    catid: str | None = None
    category_full: str | None = None
    fxname: str | None = None
    library: str | None = None
    designer: str | None = None
    notes: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """``(field, text)`` for every field to change; keywords joined with ``", "``."""
        out: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "keywords":
                value = ", ".join(split_keywords(", ".join(value)))
            out.append((f.name, str(value)))
        return out

    def is_empty(self) -> bool:
        """Whether the update changes nothing."""
        return not self.items()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TagUpdate:
        """Build from a dict of field names (unknown names are refused with ValueError)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown tag field(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = dict(data)
        if isinstance(kwargs.get("keywords"), str):
            kwargs["keywords"] = split_keywords(kwargs["keywords"])
        elif kwargs.get("keywords") is not None:
            kwargs["keywords"] = tuple(str(k) for k in kwargs["keywords"])
        return cls(**kwargs)


@dataclass(frozen=True)
class FieldChange:
    """One native place a write changed.

    Attributes:
        source: The native place (``"bext:Description"``, ``"id3:TXXX:KEYWORDS"``).
        before: Its text before the write, ``None`` when it was absent.
        after: Its text after the write, ``None`` when the write removed it.
    """

    source: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, str | None]:
        """``{"source", "before", "after"}``."""
        return {"source": self.source, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class UndoRecord:
    """What a write replaced, enough to put it back; store it as JSON (``to_json``).

    Attributes:
        path: The file that was written.
        container: Its container (``"wav"``, ``"mp3"`` ...).
        audio_digest: Hash of the decoded audio at write time; a restore onto a file whose
            audio differs is refused (it is another file, or it was edited since).
        changes: Every native place changed, with its previous text (for showing).
        previous: What to put back, JSON-ready. WAV: the previous payload (hex) of each chunk
            Earmark replaced, keyed ``"bext"``, ``"iXML"``, ``"LIST-INFO"``, ``None`` where the
            chunk was absent (restoring gives the original file back byte for byte). Tagged
            formats: per native place (``"id3:COMM"``, ``"vorbis:DESCRIPTION"``), its previous
            values (ID3: frame dicts with encoding, language, description), ``None`` where
            absent.
        created_at: Unix time of the write.
    """

    path: str
    container: str
    audio_digest: str
    changes: tuple[FieldChange, ...]
    previous: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""
        return {
            "version": 1,
            "path": self.path,
            "container": self.container,
            "audio_digest": self.audio_digest,
            "changes": [c.to_json() for c in self.changes],
            "previous": dict(self.previous),
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UndoRecord:
        """Rebuild from :meth:`to_json` output.

        Raises:
            ValueError: Not an undo record this version understands.
        """
        if data.get("version") != 1:
            raise ValueError("not an Earmark tag undo record (unknown version)")
        return cls(
            path=str(data["path"]),
            container=str(data["container"]),
            audio_digest=str(data["audio_digest"]),
            changes=tuple(
                FieldChange(str(c["source"]), c.get("before"), c.get("after"))
                for c in data.get("changes", ())
            ),
            previous=dict(data.get("previous", {})),
            created_at=float(data.get("created_at", 0.0)),
        )


@dataclass(frozen=True)
class WriteReport:
    """The outcome of a write (or of a dry run, where nothing was written).

    Attributes:
        path: The file.
        container: Its container.
        changes: Native places changed (``before != after``); empty means nothing to do.
        undo: The record that restores the previous state (``None`` for a dry run or when
            nothing changed).
        written: Whether the file on disk was replaced.
    """

    path: str
    container: str
    changes: tuple[FieldChange, ...]
    undo: UndoRecord | None
    written: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``--dry-run --json`` output, logs)."""
        return {
            "path": self.path,
            "container": self.container,
            "changes": [c.to_json() for c in self.changes],
            "undo": None if self.undo is None else self.undo.to_json(),
            "written": self.written,
        }


def values_from_pairs(
    pairs: Iterable[tuple[str, str, str]],
) -> tuple[MetadataValue, ...]:
    """``(field, value, source)`` triples to values, dropping empty text."""
    return tuple(MetadataValue(f, v, s) for f, v, s in pairs if v)
