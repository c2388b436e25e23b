"""Keyword vocabularies and their text-embedding cache.

The default vocabulary is the 527 AudioSet class display names, each split on "," and stripped:
614 keywords (611 unique), as in ZerAuCap. Users can supply a ``.txt`` (one keyword per line) or a
``.csv`` file. Keyword embeddings are computed once per (model, vocabulary) and cached on disk;
the cache key holds the model's weights fingerprint and the vocabulary's content hash, so a
change of either computes them afresh.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

log = logging.getLogger(__name__)

__all__ = [
    "AUDIOSET_CSV",
    "Vocabulary",
    "cached_keyword_embeddings",
    "load_vocabulary",
]

# Package data (see captioner/resources/audioset/README.md), found the same way in a checkout,
# an installed wheel or a frozen bundle.
AUDIOSET_CSV: Traversable = (
    files("captioner") / "resources" / "audioset" / "class_labels_indices.csv"
)


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of keywords.

    Attributes:
        name: ``"audioset"`` or the file name it came from.
        keywords: The keywords in file order (duplicates kept, as in the paper's list).
        content_hash: sha256 of the keywords, which keys the embedding cache.
    """

    name: str
    keywords: tuple[str, ...]
    content_hash: str


def _hash(keywords: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(keywords).encode("utf-8")).hexdigest()


def _split_display_names(names: Sequence[str]) -> list[str]:
    return [part.strip() for name in names for part in name.split(",") if part.strip()]


def load_vocabulary(path: str | os.PathLike[str] | None) -> Vocabulary:
    """Load a keyword vocabulary.

    Args:
        path: ``None`` for the AudioSet vocabulary; else a ``.txt`` file (one keyword per line,
            ``#`` comments and blank lines ignored) or a ``.csv`` file (a ``display_name`` column
            is split on "," like AudioSet's; else a ``keyword`` column; else the first column).

    Raises:
        ValueError: If the file cannot be read or holds no keywords.
    """
    if path is None:
        try:
            names = _parse_csv(AUDIOSET_CSV.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(
                f"Earmark's AudioSet vocabulary cannot be read ({exc}); the installation is "
                "incomplete: reinstall Earmark"
            ) from None
        return Vocabulary("audioset", tuple(names), _hash(names))
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read vocabulary file {p}: {exc}") from None
    if p.suffix.lower() == ".csv":
        keywords = _parse_csv(text)
    else:
        keywords = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if not keywords:
        raise ValueError(f"vocabulary file {p} holds no keywords")
    return Vocabulary(p.name, tuple(keywords), _hash(keywords))


def _parse_csv(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "display_name" in header:
        col = header.index("display_name")
        return _split_display_names([r[col] for r in rows[1:] if len(r) > col])
    if "keyword" in header:
        col = header.index("keyword")
        return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]
    return [r[0].strip() for r in rows if r and r[0].strip()]


def cached_keyword_embeddings(
    vocabulary: Vocabulary,
    model_key: str,
    embed: Callable[[Sequence[str]], np.ndarray],
    cache_dir: Path,
    batch_size: int = 128,
) -> np.ndarray:
    """Return the keywords' text embeddings ``(n, dim)`` float32, from the disk cache if there.

    Args:
        vocabulary: The keywords.
        model_key: Identity of the text encoder, weights fingerprint and precision included.
        embed: Embeds a batch of strings into L2-normalised float32 rows.
        cache_dir: Folder of the cache files.
        batch_size: Strings per ``embed`` call when computing.
    """
    key = hashlib.sha256(f"{model_key}\n{vocabulary.content_hash}".encode()).hexdigest()[:32]
    path = cache_dir / f"{key}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.ndim == 2 and cached.shape[0] == len(vocabulary.keywords):
                return cached.astype(np.float32, copy=False)
            log.warning("keyword cache %s has the wrong shape; recomputing", path)
        except (OSError, ValueError) as exc:
            log.warning("keyword cache %s unreadable (%s); recomputing", path, exc)
    words = list(vocabulary.keywords)
    parts = [embed(words[i : i + batch_size]) for i in range(0, len(words), batch_size)]
    emb = np.concatenate(parts, axis=0).astype(np.float32, copy=False)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half-written cache file behind.
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, emb, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write keyword cache %s: %s", path, exc)
    return emb
