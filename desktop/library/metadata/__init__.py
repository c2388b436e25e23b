"""Embedded metadata of sound files: read it, write it back, undo, and fingerprint the audio.

Qt-free and SQL-free: the library stores what these functions return. Public API::

    from desktop.library.metadata import (
        read_metadata, write_tags, plan_tags, restore_tags, TagUpdate, UndoRecord,
        payload_fingerprint, format_label,
    )

    meta = read_metadata(path)        # never raises for file contents
    meta.description, meta.keywords   # best values; meta.values keeps every value + source
    report = write_tags(path, TagUpdate(description="door slams", keywords=("door", "slam")))
    store(report.undo.to_json())      # then later:
    restore_tags(path, UndoRecord.from_json(stored))
    payload_fingerprint(path)         # "p1:..." survives retagging

Layout: ``types.py`` (results), ``riff.py`` (RIFF/IFF chunks), ``bwf.py`` (bext, iXML, INFO),
``_tags.py`` (mutagen: ID3, Vorbis, MP4, APE, ASF), ``read.py``, ``write.py``, ``_io.py``
(safe open, bounded reads, atomic replace), ``fingerprint.py``, ``formats.py``.
"""

from desktop.library.metadata.fingerprint import audio_digest, payload_fingerprint
from desktop.library.metadata.formats import format_label
from desktop.library.metadata.read import read_metadata
from desktop.library.metadata.types import (
    FIELDS,
    FieldChange,
    FileMetadata,
    MetadataError,
    MetadataValue,
    MetadataWriteError,
    TagUpdate,
    UndoRecord,
    UnsupportedFormatError,
    WriteReport,
    split_keywords,
)
from desktop.library.metadata.write import plan_tags, restore_tags, write_tags

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
    "audio_digest",
    "format_label",
    "payload_fingerprint",
    "plan_tags",
    "read_metadata",
    "restore_tags",
    "split_keywords",
    "write_tags",
]
