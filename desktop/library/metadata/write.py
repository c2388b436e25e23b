"""Write descriptions, keywords and UCS fields into files' native places, and undo it.

Where each field goes:

============  =====================================================================
container     places
============  =====================================================================
WAV/BWF       ``bext`` Description (first 256 UTF-8 bytes), iXML ``USER/<FIELD>`` (full
              text; DESCRIPTION, KEYWORDS, CATEGORY, SUBCATEGORY, CATID, CATEGORYFULL,
              FXNAME, LIBRARY, DESIGNER, NOTES), INFO ``ICMT`` (description), ``IKEY``
              (keywords, ``;``-separated), ``INAM`` (title)
MP3, AIFF     ID3: ``COMM`` (description), ``TIT2`` (title), ``TXXX:<FIELD>`` (the rest)
FLAC, Ogg     Vorbis comments ``DESCRIPTION``, ``TITLE``, ``KEYWORDS``, ``CATEGORY`` ...
(Vorbis/Opus)
M4A/MP4       ``desc`` and ``©cmt`` (description), ``©nam`` (title),
              ``----:com.apple.iTunes:<FIELD>`` (the rest)
============  =====================================================================

Every write goes to a temporary file in the same folder, is read back and compared with what
was meant, has its decoded audio hashed against the original's, and only then replaces the
original atomically (fsync, rename; mode, owner, extended attributes and optionally mtime
kept). Any failure leaves the original untouched. The :class:`UndoRecord` returned holds what
was replaced; :func:`restore_tags` puts it back (RIFF files byte for byte).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

from captioner.errors import AudioDecodeError
from desktop.library.metadata import _tags, bwf
from desktop.library.metadata._io import atomic_replace, copy_whole, open_regular, resolve_target
from desktop.library.metadata.fingerprint import audio_digest
from desktop.library.metadata.read import read_metadata
from desktop.library.metadata.riff import RiffLayout, chunk_bytes, parse_layout, rewrite_riff
from desktop.library.metadata.types import (
    FieldChange,
    MetadataError,
    MetadataWriteError,
    TagUpdate,
    UndoRecord,
    UnsupportedFormatError,
    WriteReport,
)

__all__ = ["plan_tags", "restore_tags", "write_tags"]

log = logging.getLogger(__name__)

_CHUNK_LIMIT = 8 << 20
_INFO_FOR = {"description": "ICMT", "keywords": "IKEY", "title": "INAM"}


def write_tags(
    path: str | os.PathLike[str],
    update: TagUpdate,
    *,
    keep_mtime: bool = False,
    dry_run: bool = False,
) -> WriteReport:
    """Write ``update`` into the file's native metadata places (see the module docstring).

    Args:
        path: The file (a symlink is followed; the link stays).
        update: What to set; ``None`` fields are left alone.
        keep_mtime: Give the new file the original's modification time.
        dry_run: Only work out what would change; the file is not touched.

    Returns:
        The changes, and (when written) the undo record to store.

    Raises:
        UnsupportedFormatError: Earmark does not write this container (RF64, WavPack, ...).
        MetadataWriteError: The write was refused or failed; the file is unchanged.
    """
    update = _normalised(update)
    real, st = resolve_target(path) if not dry_run else (_real(path), None)
    handle, _ = _open(real)
    with handle:
        layout = parse_layout(handle, os.fstat(handle.fileno()).st_size)
        if layout is not None and layout.container != "aiff":
            if layout.container != "wav":
                raise UnsupportedFormatError(
                    f"{_name(real)}: {layout.write_refusal or 'not a WAV file Earmark writes'}"
                )
            return _write_riff(real, st, handle, layout, update, keep_mtime, dry_run)
        container = _tag_container(handle, layout, real)
        return _write_tagged(real, st, handle, container, update, keep_mtime, dry_run)


def plan_tags(path: str | os.PathLike[str], update: TagUpdate) -> WriteReport:
    """What :func:`write_tags` would change, without touching the file (``--dry-run``)."""
    return write_tags(path, update, dry_run=True)


def restore_tags(
    path: str | os.PathLike[str], undo: UndoRecord, *, keep_mtime: bool = False
) -> WriteReport:
    """Put back what a write replaced.

    Refused when the file's decoded audio is not the audio the write saw (another file now
    sits at the path, or the sound was edited since).

    Returns:
        The changes the restore made (its own undo record restores the write again).

    Raises:
        MetadataWriteError: Refused or failed; the file is unchanged.
    """
    real, st = resolve_target(path)
    try:
        digest = audio_digest(real)
    except AudioDecodeError as exc:
        raise MetadataWriteError(
            f"{_name(real)}: cannot decode the audio to check it ({exc}); nothing restored"
        ) from None
    if digest != undo.audio_digest:
        raise MetadataWriteError(
            f"{_name(real)}: the audio is not the one the tags were written to (the file was "
            "replaced or edited since); nothing restored"
        )
    handle, _ = _open(real)
    with handle:
        layout = parse_layout(handle, os.fstat(handle.fileno()).st_size)
        if undo.container == "wav":
            if layout is None or layout.container != "wav":
                raise MetadataWriteError(f"{_name(real)}: no longer a WAV file; nothing restored")
            replacements = {
                k: (None if v is None else bytes.fromhex(v)) for k, v in undo.previous.items()
            }
            payloads = _managed_payloads(handle, layout)
            changes = tuple(FieldChange(c.source, c.after, c.before) for c in undo.changes)
            previous = {k: (None if v is None else v.hex()) for k, v in payloads.items()}
            with atomic_replace(real, st, keep_mtime=keep_mtime) as (tmp, tmp_path, commit):
                rewrite_riff(handle, layout, tmp, replacements)
                tmp.flush()
                _verify_chunks(tmp_path, replacements)
                _verify_audio(tmp_path, digest)
                commit()
        else:
            container = _tag_container(handle, layout, real)
            keys = list(undo.previous)
            current = _tags.current_values(handle, container, keys)
            changes = tuple(FieldChange(c.source, c.after, c.before) for c in undo.changes)
            previous = current
            with atomic_replace(real, st, keep_mtime=keep_mtime) as (tmp, tmp_path, commit):
                copy_whole(handle, tmp)
                tmp.flush()
                _mutagen_call(_tags.restore_values, tmp_path, container, undo.previous)
                _verify_values(
                    tmp_path, {k: _tags.expected_read(k, v) for k, v in undo.previous.items()}
                )
                _verify_audio(tmp_path, digest)
                commit()
    record = UndoRecord(real, undo.container, digest, changes, previous, time.time())
    return WriteReport(real, undo.container, changes, record, True)


# ---- RIFF/WAV ------------------------------------------------------------------------------


def _managed_payloads(handle: BinaryIO, layout: RiffLayout) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for key in ("bext", "iXML", "LIST-INFO"):
        chunk = layout.find(key)
        if chunk is None:
            out[key] = None
            continue
        payload = chunk_bytes(handle, chunk, _CHUNK_LIMIT)
        if payload is None:
            raise MetadataWriteError(
                f"the '{chunk.id}' chunk is larger than Earmark rewrites ({chunk.size} bytes); "
                "the file was not changed"
            )
        out[key] = payload
    return out


def _write_riff(
    real: str,
    st: os.stat_result | None,
    handle: BinaryIO,
    layout: RiffLayout,
    update: TagUpdate,
    keep_mtime: bool,
    dry_run: bool,
) -> WriteReport:
    name = _name(real)
    if layout.write_refusal:
        raise MetadataWriteError(f"{name}: {layout.write_refusal}; the file was not changed")
    old = _managed_payloads(handle, layout)
    values = dict(update.items())
    new: dict[str, bytes | None] = dict(old)
    changes: list[FieldChange] = []

    if "description" in values:
        desc = values["description"]
        before = bwf.bext_description(old["bext"])
        if desc or old["bext"] is not None:
            new["bext"] = bwf.build_bext(old["bext"], desc)
            after = bwf.bext_description(new["bext"])
            if before != after:
                changes.append(FieldChange("bext:Description", before, after))

    ixml_fields = {f: v for f, v in values.items() if f in bwf._FIELD_TO_IXML}
    if ixml_fields:
        user_before = bwf.ixml_user_values(old["iXML"])
        if any(ixml_fields.values()) or old["iXML"] is not None:
            try:
                new["iXML"] = bwf.update_ixml(old["iXML"], ixml_fields)
            except ValueError as exc:
                raise MetadataWriteError(f"{name}: {exc}; the file was not changed") from None
        for field, text in ixml_fields.items():
            tag = bwf._FIELD_TO_IXML[field]
            before = (user_before.get(tag) or "").strip() or None
            if before != (text or None):
                changes.append(FieldChange(f"ixml:USER/{tag}", before, text or None))

    info_fields = {
        _INFO_FOR[f]: (v.replace(", ", "; ") if f == "keywords" else v)
        for f, v in values.items()
        if f in _INFO_FOR
    }
    if info_fields:
        info_before = bwf.info_values(old["LIST-INFO"])
        new["LIST-INFO"] = bwf.build_info(old["LIST-INFO"], info_fields)
        for cid, text in info_fields.items():
            before = info_before.get(cid) or None
            if before != (text or None):
                changes.append(FieldChange(f"info:{cid}", before, text or None))

    replacements = {k: v for k, v in new.items() if v != old[k]}
    if not changes or not replacements or dry_run:
        return WriteReport(real, "wav", tuple(changes), None, False)
    assert st is not None
    digest = _digest(real)
    with atomic_replace(real, st, keep_mtime=keep_mtime) as (tmp, tmp_path, commit):
        rewrite_riff(handle, layout, tmp, replacements)
        tmp.flush()
        _verify_values(tmp_path, {c.source: [c.after] if c.after else [] for c in changes})
        _verify_chunks(tmp_path, replacements)
        _verify_audio(tmp_path, digest)
        commit()
    previous = {k: (None if old[k] is None else old[k].hex()) for k in replacements}  # type: ignore[union-attr]
    record = UndoRecord(real, "wav", digest, tuple(changes), previous, time.time())
    return WriteReport(real, "wav", tuple(changes), record, True)


def _verify_chunks(tmp_path: str, expected: Mapping[str, bytes | None]) -> None:
    with open(tmp_path, "rb") as handle:
        layout = parse_layout(handle, os.fstat(handle.fileno()).st_size)
        if layout is None or layout.write_refusal:
            raise MetadataWriteError("the new file did not read back as a clean WAV; not written")
        for key, payload in expected.items():
            chunk = layout.find(key)
            got = None if chunk is None else chunk_bytes(handle, chunk, _CHUNK_LIMIT)
            if got != payload:
                raise MetadataWriteError(
                    f"the new '{key}' chunk did not read back as written; the file was not changed"
                )


# ---- mutagen formats ------------------------------------------------------------------------


def _tag_container(handle: BinaryIO, layout: RiffLayout | None, real: str) -> str:
    if layout is not None:
        return layout.container
    container, _, warnings = _tags.read_tags(handle)
    if container not in _tags.WRITABLE:
        what = "this file's format" if container == "unknown" else f"{container} files"
        raise UnsupportedFormatError(
            f"{_name(real)}: Earmark does not write tags into {what} yet"
            + (f" ({warnings[0]})" if warnings else "")
        )
    return container


def _write_tagged(
    real: str,
    st: os.stat_result | None,
    handle: BinaryIO,
    container: str,
    update: TagUpdate,
    keep_mtime: bool,
    dry_run: bool,
) -> WriteReport:
    targets = _tags.target_values(container, update)
    previous = _mutagen_call(_tags.current_values, handle, container, list(targets))
    changes = tuple(
        FieldChange(key, _tags.display_text(previous[key]), after)
        for key, after in targets.items()
        if _tags.display_text(previous[key]) != after
    )
    if not changes or dry_run:
        return WriteReport(real, container, changes, None, False)
    assert st is not None
    digest = _digest(real)
    touched = {c.source for c in changes}
    with atomic_replace(real, st, keep_mtime=keep_mtime) as (tmp, tmp_path, commit):
        copy_whole(handle, tmp)
        tmp.flush()
        _mutagen_call(
            _tags.apply_update,
            tmp_path,
            container,
            {k: v for k, v in targets.items() if k in touched},
        )
        _verify_values(tmp_path, {c.source: [c.after] if c.after else [] for c in changes})
        _verify_audio(tmp_path, digest)
        commit()
    kept = {k: v for k, v in previous.items() if k in touched}
    record = UndoRecord(real, container, digest, changes, kept, time.time())
    return WriteReport(real, container, changes, record, True)


def _mutagen_call(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except MetadataError:
        raise
    except _tags._READ_ERRORS as exc:
        raise MetadataWriteError(
            f"the file's tags could not be updated ({type(exc).__name__}: {exc}); "
            "the file was not changed"
        ) from None


# ---- shared ---------------------------------------------------------------------------------


def _verify_values(tmp_path: str, expected: Mapping[str, list[str]]) -> None:
    meta = read_metadata(tmp_path)
    found: dict[str, list[str]] = {}
    for value in meta.values:
        found.setdefault(value.source, []).append(value.value)
    for source, want in expected.items():
        got = sorted(found.get(source, []))
        if got != sorted(w.strip() for w in want if w and w.strip()):
            log.warning("read-back mismatch at %s: wanted %r, got %r", source, want, got)
            raise MetadataWriteError(
                f"'{source}' did not read back as written; the file was not changed"
            )


def _digest(real: str) -> str:
    try:
        return audio_digest(real)
    except AudioDecodeError as exc:
        raise MetadataWriteError(
            f"{_name(real)}: the audio cannot be decoded, so Earmark cannot prove a write "
            f"would leave it alone ({exc}); not written"
        ) from None


def _verify_audio(tmp_path: str, digest: str) -> None:
    try:
        after = audio_digest(tmp_path)
    except AudioDecodeError:
        after = ""
    if after != digest:
        raise MetadataWriteError(
            "the audio of the new file would differ from the original; the file was not changed"
        )


def _normalised(update: TagUpdate) -> TagUpdate:
    data: dict[str, Any] = {}
    for field, text in update.items():
        data[field] = text.strip() if field != "keywords" else text
    if "keywords" in data:
        data["keywords"] = tuple(k for k in data["keywords"].split(", ") if k)
    return TagUpdate.from_mapping(data)


def _open(real: str) -> tuple[BinaryIO, os.stat_result]:
    try:
        return open_regular(real)
    except MetadataError as exc:
        raise MetadataWriteError(str(exc)) from None


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _name(path: str) -> str:
    return os.path.basename(path)
