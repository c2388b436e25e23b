"""The on-disk side of a vector index: generations, the manifest, atomic writes, a lock.

A model's index is a *generation*: a few immutable files named ``<key>.<gen>.<part>`` plus one
manifest ``<key>.json`` naming them with their sizes and sampled checksums. A new generation is
written under fresh names, flushed to disk, and only then made current by atomically replacing
the manifest, so a crash at any point leaves either the old or the new generation in use, never
a half-written one. Files of a generation that is no longer current are deleted afterwards
(readers that still map them keep working on POSIX; on Windows the delete is retried later).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "Manifest",
    "file_lock",
    "fsync_dir",
    "model_key",
    "new_generation",
    "read_manifest",
    "remove_stale",
    "sampled_checksum",
    "write_manifest",
]

log = logging.getLogger(__name__)

#: Bumped when the layout changes; a manifest of another format is rebuilt, not read.
FORMAT = 1

#: Sampled checksum: this many blocks of this size, spread evenly over the file.
_SAMPLES = 64
_SAMPLE_BYTES = 64 * 1024

#: Leftovers of an interrupted write older than this are deleted even without a manifest.
_ORPHAN_AGE_S = 3600.0


def model_key(model_id: str) -> str:
    """The file-name stem of a model's index: a hash, as model ids may hold any characters."""
    return hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:20]


def new_generation(seq: int) -> str:
    """A unique generation name; sorts by the change-log position it was written at."""
    return f"{max(seq, 0):012d}-{secrets.token_hex(4)}"


def sampled_checksum(path: Path, size: int | None = None) -> str:
    """CRC32 of the size and of 64 evenly spread 64 KiB blocks (the first and last included).

    Reads about 4 MB whatever the file size, so checking costs milliseconds at open; it catches
    truncation, a file replaced by another and most overwrites, not every flipped bit.
    """
    size = path.stat().st_size if size is None else size
    crc = zlib.crc32(str(size).encode())
    with path.open("rb") as f:
        if size <= _SAMPLES * _SAMPLE_BYTES:
            crc = zlib.crc32(f.read(), crc)
        else:
            step = (size - _SAMPLE_BYTES) / (_SAMPLES - 1)
            for i in range(_SAMPLES):
                f.seek(int(i * step))
                crc = zlib.crc32(f.read(_SAMPLE_BYTES), crc)
    return f"{crc:08x}"


@dataclass(frozen=True)
class Manifest:
    """What a generation holds and how far into the change log it is current.

    Attributes:
        model_id: The embedding model (full id; the file names only carry its hash).
        dim: Vector size.
        kind: ``"exact"`` (a flat float32 matrix) or ``"ann"`` (an HNSW graph).
        generation: The generation name in the part files' names.
        parts: Part name -> ``{"file", "size", "crc"}``.
        count: Vectors in the generation.
        log_seq: Last ``embedding_changes.seq`` the generation reflects.
        engine: Library and version that wrote an ``ann`` part (``""`` for ``exact``).
        written_at: Unix time of the write.
        extra: Engine parameters (dtype, graph degree), for the record.
    """

    model_id: str
    dim: int
    kind: str
    generation: str
    parts: dict[str, dict[str, Any]]
    count: int
    log_seq: int
    engine: str = ""
    written_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The manifest as the JSON text stored on disk."""
        return json.dumps(
            {
                "format": FORMAT,
                "model_id": self.model_id,
                "dim": self.dim,
                "kind": self.kind,
                "generation": self.generation,
                "parts": self.parts,
                "count": self.count,
                "log_seq": self.log_seq,
                "engine": self.engine,
                "written_at": self.written_at,
                "extra": self.extra,
            },
            indent=1,
            sort_keys=True,
        )


def read_manifest(folder: Path, model_id: str) -> tuple[Manifest | None, str]:
    """The current manifest of a model, verified; or ``(None, why)`` if there is none usable.

    Verification: the format, model id and the listed parts' sizes and sampled checksums.
    """
    path = folder / f"{model_key(model_id)}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no index yet"
    except (OSError, ValueError) as exc:
        return None, f"unreadable manifest ({exc})"
    try:
        if raw.get("format") != FORMAT:
            return None, f"index format {raw.get('format')!r}, this version writes {FORMAT}"
        if raw["model_id"] != model_id:
            return None, "manifest belongs to another model"
        manifest = Manifest(
            model_id=str(raw["model_id"]),
            dim=int(raw["dim"]),
            kind=str(raw["kind"]),
            generation=str(raw["generation"]),
            parts={str(k): dict(v) for k, v in raw["parts"].items()},
            count=int(raw["count"]),
            log_seq=int(raw["log_seq"]),
            engine=str(raw.get("engine", "")),
            written_at=float(raw.get("written_at", 0.0)),
            extra=dict(raw.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"malformed manifest ({exc})"
    for name, part in manifest.parts.items():
        file = folder / str(part["file"])
        try:
            size = file.stat().st_size
        except OSError:
            return None, f"index part {name} is missing"
        if size != int(part["size"]):
            return None, f"index part {name} is {size} bytes, expected {part['size']} (truncated?)"
        if sampled_checksum(file, size) != part["crc"]:
            return None, f"index part {name} fails its checksum (corrupt)"
    return manifest, ""


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename is durable only then); a no-op where unsupported."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a written file's data to disk."""
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Make ``manifest`` current: write a temporary file, flush, rename over the old one.

    Call only after every part it lists has been written and flushed.
    """
    path = folder / f"{model_key(manifest.model_id)}.json"
    tmp = folder / f"{path.name}.{secrets.token_hex(4)}.tmp"
    with tmp.open("w", encoding="utf-8") as f:
        f.write(manifest.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(folder)


def remove_stale(folder: Path, model_id: str, keep: str | None) -> None:
    """Delete part files of generations other than ``keep``, and old interrupted writes.

    Call with :func:`file_lock` held, so a generation being written is not taken for stale.
    """
    key = model_key(model_id)
    now = time.time()
    for path in folder.glob(f"{key}.*"):
        name = path.name
        if name in (f"{key}.json", f"{key}.lock"):
            continue
        if keep is not None and name.startswith(f"{key}.{keep}."):
            continue
        if name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime < _ORPHAN_AGE_S:
                    continue  # perhaps another process's write in progress
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # mapped by a reader on Windows: try again next time
            log.debug("could not remove old index file %s: %s", path, exc)


@contextlib.contextmanager
def file_lock(folder: Path, model_id: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on a model's index (between processes)."""
    path = folder / f"{model_key(model_id)}.lock"
    with path.open("a+b") as f:
        if sys.platform == "win32":
            import msvcrt

            f.seek(0)
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                    continue
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
