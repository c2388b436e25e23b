"""Readers for the AudioCaps and Clotho caption CSVs, and audio file lookup.

AudioCaps ships one row per caption (``audiocap_id,youtube_id,start_time,caption``); a clip is
the group of rows sharing ``(youtube_id, start_time)`` (five in val/test). Its audio is commonly
named ``<youtube_id>_<start_time * 1000>.wav`` or after an ``audiocap_id``; an explicit id map
covers any other naming. Clotho ships one row per clip (``file_name,caption_1..caption_5``) with
the audio under its file name.
"""

from __future__ import annotations

import csv
import logging
import os
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from desktop.evaluation.errors import EvaluationError

log = logging.getLogger(__name__)

__all__ = [
    "AUDIO_EXTENSIONS",
    "DATASETS",
    "Clip",
    "Dataset",
    "load_dataset",
    "read_audiocaps",
    "read_clotho",
    "read_id_map",
]

DATASETS = ("audiocaps", "clotho")

#: Extensions tried when a layout names audio by id only.
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".aif")


@dataclass(frozen=True)
class Clip:
    """One evaluation clip and its human references.

    Attributes:
        clip_id: Stable id used in predictions: ``<youtube_id>_<start_ms>`` (AudioCaps) or the
            file name (Clotho).
        references: The reference captions, in file order.
        audio_path: The audio file, or ``None`` when none was found (or none was looked for).
        names: The file names (without folder) that were looked for, for error messages.
    """

    clip_id: str
    references: tuple[str, ...]
    audio_path: Path | None = None
    names: tuple[str, ...] = ()


@dataclass
class Dataset:
    """Clips read from one caption file.

    Attributes:
        name: ``"audiocaps"`` or ``"clotho"``.
        captions_path: The caption CSV.
        audio_dir: Where audio was looked for (``None`` when scoring existing predictions).
        clips: Every clip, in file order (after ``limit``).
        total_clips: Clips in the file before ``limit``.
    """

    name: str
    captions_path: Path
    audio_dir: Path | None
    clips: list[Clip] = field(default_factory=list)
    total_clips: int = 0

    @property
    def missing(self) -> list[Clip]:
        """Clips whose audio file was looked for and not found."""
        if self.audio_dir is None:
            return []
        return [c for c in self.clips if c.audio_path is None]

    @property
    def present(self) -> list[Clip]:
        """Clips with an audio file."""
        return [c for c in self.clips if c.audio_path is not None]

    def by_id(self) -> dict[str, Clip]:
        """Clips keyed by ``clip_id``."""
        return {c.clip_id: c for c in self.clips}


def _open_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise EvaluationError(f"caption file not found: {path}")
    try:
        # utf-8-sig: files saved by spreadsheet programs start with a BOM.
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = [h.strip() for h in (reader.fieldnames or [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EvaluationError(f"{path} is not a readable UTF-8 CSV file: {exc}") from None
    # Headers with stray spaces ("caption_1 ") are common in hand-edited files.
    cleaned = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in rows]
    return header, cleaned


def _require(path: Path, header: list[str], needed: Iterable[str], layout: str) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise EvaluationError(
            f"{path} does not look like {layout}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(header) or 'no header'})"
        )


def _index_audio(audio_dir: Path) -> dict[str, Path]:
    """Map file names and stems (NFC-normalised) of the audio files in ``audio_dir``."""
    if not audio_dir.is_dir():
        raise EvaluationError(f"audio folder not found: {audio_dir}")
    index: dict[str, Path] = {}
    with os.scandir(audio_dir) as entries:
        for entry in entries:
            if not entry.is_file():
                continue
            path = Path(entry.path)
            if path.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            # Clotho names carry accents; archives unpacked on macOS store them decomposed.
            name = unicodedata.normalize("NFC", path.name)
            index.setdefault(name, path)
            index.setdefault(unicodedata.normalize("NFC", path.stem), path)
    return index


def _lookup(index: Mapping[str, Path], names: Iterable[str]) -> Path | None:
    for name in names:
        hit = index.get(unicodedata.normalize("NFC", name))
        if hit is not None:
            return hit
    return None


def read_id_map(path: Path) -> dict[str, str]:
    """Read an id map: a CSV whose first two columns are ``id`` and ``file`` (header row first).

    The id is an AudioCaps ``audiocap_id`` or ``<youtube_id>_<start_ms>``; the file is a name
    relative to the audio folder (or an absolute path).

    Raises:
        EvaluationError: The file is missing or has fewer than two columns.
    """
    if not path.is_file():
        raise EvaluationError(f"id map not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows or len(rows[0]) < 2:
        raise EvaluationError(f"id map {path} needs a header and two columns: id,file")
    out: dict[str, str] = {}
    for row in rows[1:]:
        if len(row) >= 2 and row[0].strip() and row[1].strip():
            out[row[0].strip()] = row[1].strip()
    return out


def _start_ms(raw: str, path: Path, line: int) -> int:
    try:
        seconds = float(raw)
    except ValueError:
        raise EvaluationError(f"{path} line {line}: start_time {raw!r} is not a number") from None
    return round(seconds * 1000)


def read_audiocaps(captions: Path) -> list[tuple[str, list[str], list[str]]]:
    """Group AudioCaps caption rows into clips.

    Returns:
        ``(clip_id, references, names)`` per clip, in order of first appearance. ``names`` are
        the file stems the clip's audio may have, most specific first:
        ``<youtube_id>_<start_ms>``, ``<youtube_id>_<start_time as written>``, each row's
        ``audiocap_id``, then ``Y<youtube_id>`` and ``<youtube_id>`` when that video has only
        this clip in the file.

    Raises:
        EvaluationError: The file is missing or not in the AudioCaps layout.
    """
    header, rows = _open_csv(captions)
    _require(captions, header, ("audiocap_id", "youtube_id", "start_time", "caption"), "AudioCaps")
    groups: dict[str, tuple[list[str], list[str]]] = {}
    videos: dict[str, set[str]] = {}
    for line, row in enumerate(rows, start=2):
        youtube_id = row["youtube_id"].strip()
        if not youtube_id:
            raise EvaluationError(f"{captions} line {line}: empty youtube_id")
        start = row["start_time"].strip()
        clip_id = f"{youtube_id}_{_start_ms(start, captions, line)}"
        refs, names = groups.setdefault(clip_id, ([], [clip_id, f"{youtube_id}_{start}"]))
        videos.setdefault(youtube_id, set()).add(clip_id)
        caption = " ".join(row["caption"].split())
        if caption:
            refs.append(caption)
        names.append(row["audiocap_id"].strip())
    out = []
    for clip_id, (refs, names) in groups.items():
        youtube_id = clip_id.rsplit("_", 1)[0]
        if len(videos[youtube_id]) == 1:
            # A bare video id is only unambiguous when the file has one clip of that video.
            names += [f"Y{youtube_id}", youtube_id]
        out.append((clip_id, refs, [n for n in dict.fromkeys(names) if n]))
    return out


def read_clotho(captions: Path) -> list[tuple[str, list[str]]]:
    """Read a Clotho caption file.

    Returns:
        ``(file_name, references)`` per clip, in file order.

    Raises:
        EvaluationError: The file is missing or not in the Clotho layout.
    """
    header, rows = _open_csv(captions)
    _require(captions, header, ("file_name", "caption_1"), "Clotho")
    columns = sorted(
        (h for h in header if h.startswith("caption_") and h[8:].isdigit()),
        key=lambda h: int(h[8:]),
    )
    out = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        name = row["file_name"].strip()
        if not name:
            raise EvaluationError(f"{captions} line {line}: empty file_name")
        if name in seen:
            raise EvaluationError(
                f"{captions} line {line}: {name!r} is listed twice (first on line {seen[name]})"
            )
        seen[name] = line
        refs = [" ".join(row[c].split()) for c in columns if row.get(c, "").strip()]
        out.append((name, refs))
    return out


def load_dataset(
    name: str,
    captions: Path,
    audio_dir: Path | None,
    *,
    id_map: Path | None = None,
    limit: int | None = None,
) -> Dataset:
    """Read a caption file and find each clip's audio.

    Args:
        name: ``"audiocaps"`` or ``"clotho"``.
        captions: The caption CSV.
        audio_dir: Folder with the audio files; ``None`` skips the audio lookup (scoring
            existing predictions).
        id_map: AudioCaps only: CSV mapping ids to audio file names.
        limit: Keep only the first ``limit`` clips (file order).

    Raises:
        EvaluationError: Unknown dataset, unreadable files, a clip without references.
    """
    if name not in DATASETS:
        raise EvaluationError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if limit is not None and limit < 1:
        raise EvaluationError(f"--limit must be at least 1, got {limit}")
    if id_map is not None and name != "audiocaps":
        raise EvaluationError("--id-map applies to AudioCaps only (Clotho names audio by file)")
    mapping = read_id_map(id_map) if id_map is not None else {}

    # (clip_id, references, names to look for)
    raw: list[tuple[str, list[str], list[str]]] = []
    if name == "audiocaps":
        for clip_id, refs, keys in read_audiocaps(captions):
            if mapping:
                names = [mapping[k] for k in keys if k in mapping]
            else:
                names = [f"{k}{ext}" for k in keys for ext in AUDIO_EXTENSIONS]
            raw.append((clip_id, refs, names))
    else:
        raw = [(file_name, refs, [file_name]) for file_name, refs in read_clotho(captions)]

    empty = [clip_id for clip_id, refs, _ in raw if not refs]
    if empty:
        raise EvaluationError(
            f"{captions}: {len(empty)} clip(s) have no reference caption, e.g. {empty[0]}"
        )
    total = len(raw)
    if limit is not None:
        raw = raw[:limit]

    index = _index_audio(audio_dir) if audio_dir is not None else {}
    clips = []
    for clip_id, refs, names in raw:
        path: Path | None = None
        if audio_dir is not None:
            # Names with a folder part (id maps) are checked directly; bare names go through
            # the folder index, which avoids thousands of stat calls.
            nested = [
                audio_dir / n for n in names if len(Path(n).parts) > 1 or Path(n).is_absolute()
            ]
            path = next((p for p in nested if p.is_file()), None)
            if path is None:
                path = _lookup(index, [Path(n).name for n in names])
        clips.append(Clip(clip_id, tuple(refs), path, tuple(Path(n).name for n in names)))
    dataset = Dataset(name, captions, audio_dir, clips, total)
    if dataset.missing:
        log.info(
            "%d of %d clips have no audio file in %s",
            len(dataset.missing),
            len(clips),
            audio_dir,
        )
    return dataset
