"""Model references: local folders or Hugging Face ids, found offline, downloaded on request.

Nothing here downloads implicitly: :func:`resolve` only looks at local folders and the local
Hugging Face cache; :func:`download` (``earmark models download REF``) is the one way to fetch.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from captioner.errors import CaptionerError, ModelNotFoundError

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CLAP",
    "DEFAULT_LLM",
    "WAVCAPS_FOLDER",
    "WAVCAPS_PRESETS",
    "ModelStatus",
    "data_dir",
    "default_clap_for_preset",
    "download",
    "models_dir",
    "resolve",
    "status",
    "weights_fingerprint",
]

DEFAULT_CLAP = "laion/larger_clap_general"
DEFAULT_LLM = "facebook/opt-1.3b"
#: Folder name, under :func:`models_dir`, of an imported WavCaps HTSAT-BERT model.
WAVCAPS_FOLDER = "wavcaps-htsat-bert"
#: Presets whose audio-language model is the paper's (WavCaps HTSAT-BERT) when imported.
WAVCAPS_PRESETS = ("paper", "paper-released")

# Weights (safetensors preferred), configs and tokenizer files; never TF/Flax/ONNX copies.
_WEIGHT_PATTERNS = ["*.safetensors", "*.safetensors.index.json"]
_FALLBACK_WEIGHTS = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]
_SIDE_PATTERNS = [
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.model",
]


@dataclass(frozen=True)
class ModelStatus:
    """Whether a model is available locally.

    Attributes:
        ref: The reference asked about.
        present: True if it resolves to a local folder.
        path: That folder, when present.
        size_bytes: Total size of its files, when present.
    """

    ref: str
    present: bool
    path: Path | None
    size_bytes: int | None


def data_dir() -> Path:
    """Return Earmark's data folder: ``EARMARK_HOME`` or the platform's user data folder."""
    home = os.environ.get("EARMARK_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("Earmark", appauthor=False))


def models_dir() -> Path:
    """Return the folder of imported/converted models (``<data dir>/models``)."""
    return data_dir() / "models"


def default_clap_for_preset(preset: str) -> str:
    """Return the audio-language model a preset uses by default.

    For ``"paper"`` and ``"paper-released"``, an imported WavCaps model
    (``models_dir()/wavcaps-htsat-bert``) if present, as the paper used WavCaps; otherwise, and
    for every other preset, :data:`DEFAULT_CLAP`.
    """
    if preset in WAVCAPS_PRESETS:
        folder = models_dir() / WAVCAPS_FOLDER
        if folder.is_dir():
            return str(folder)
    return DEFAULT_CLAP


def _cache(cache_dir: str | os.PathLike[str] | None) -> str | None:
    return None if cache_dir is None else os.fspath(cache_dir)


def _download_hint(ref: str) -> str:
    return f"earmark models download {ref}"


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or os.sep in ref.replace("/", "", 1) or "\\" in ref


def resolve(ref: str, *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the local folder of ``ref`` without touching the network.

    Args:
        ref: A local folder, or a Hugging Face id already in the local HF cache.
        cache_dir: HF cache folder to look in (default: huggingface_hub's).

    Raises:
        ModelNotFoundError: Naming the model and the exact command that downloads it.
    """
    local = Path(ref).expanduser()
    if local.is_dir():
        return local
    if _looks_like_path(ref) or local.exists() or ref.count("/") > 1 or not ref.strip():
        raise ModelNotFoundError(
            f"model {ref!r} not found: no such folder, and it is not a Hugging Face id (owner/name)"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = snapshot_download(
            ref, cache_dir=_cache(cache_dir), local_files_only=True, allow_patterns=["config.json"]
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        raise ModelNotFoundError(
            f"model {ref} is not on this computer; download it with: {_download_hint(ref)}"
        ) from None
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"model {ref} is only partly downloaded; finish with: {_download_hint(ref)}"
        )
    return folder


def _folder_size(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size  # follows HF cache symlinks to the blobs
        except OSError:
            continue
    return total


def status(ref: str, *, cache_dir: str | os.PathLike[str] | None = None) -> ModelStatus:
    """Say whether ``ref`` is available locally, where, and how big it is."""
    try:
        folder = resolve(ref, cache_dir=cache_dir)
    except ModelNotFoundError:
        return ModelStatus(ref, False, None, None)
    return ModelStatus(ref, True, folder, _folder_size(folder))


def _wanted(names: list[str]) -> list[str]:
    def match(name: str, patterns: list[str]) -> bool:
        base = name.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(base, pat) for pat in patterns)

    weights = [n for n in names if match(n, _WEIGHT_PATTERNS)]
    if not weights:
        weights = [n for n in names if match(n, _FALLBACK_WEIGHTS)]
    return sorted({*weights, *(n for n in names if match(n, _SIDE_PATTERNS))})


def download(
    ref: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Download a Hugging Face model into the local HF cache (resumable) and return its folder.

    Only safetensors weights (PyTorch ``.bin`` only when a repo has no safetensors), configs and
    tokenizer files are fetched. Files already complete are skipped; partial ones resume.

    Args:
        ref: Hugging Face id, e.g. ``"facebook/opt-1.3b"``.
        progress: Called with ``(done_bytes, total_bytes)`` after each file.
        cancel: Checked between files; when it returns True the download stops with
            :class:`captioner.errors.CaptionerError` (what is done stays for a later resume).
        cache_dir: HF cache folder (default: huggingface_hub's).

    Raises:
        CaptionerError: Network or repository errors, or cancellation, with a clear message.
    """
    if Path(ref).expanduser().is_dir():
        return Path(ref).expanduser()
    from huggingface_hub import HfApi, hf_hub_download

    try:
        info = HfApi().model_info(ref, files_metadata=True)
    except Exception as exc:  # network, auth, missing repo: all shown to the user as one line
        raise CaptionerError(f"cannot look up {ref} on Hugging Face: {exc}") from exc
    sizes = {s.rfilename: int(s.size or 0) for s in (info.siblings or [])}
    files = _wanted(list(sizes))
    if not any(f.endswith(".safetensors") or f.endswith(".bin") for f in files):
        raise CaptionerError(f"{ref} has no PyTorch weights to download")
    total = sum(sizes[f] for f in files)
    done = 0
    if progress is not None:
        progress(0, total)
    for name in files:
        if cancel is not None and cancel():
            raise CaptionerError(f"download of {ref} cancelled; run it again to resume")
        try:
            hf_hub_download(ref, name, cache_dir=_cache(cache_dir))
        except Exception as exc:
            raise CaptionerError(f"download of {ref} failed at {name}: {exc}") from exc
        done += sizes[name]
        if progress is not None:
            progress(done, total)
    return resolve(ref, cache_dir=cache_dir)


#: Files whose change means different model weights or architecture (the WavCaps marker holds
#: the imported model's config).
_IDENTITY_SUFFIXES = (".safetensors", ".bin", ".pt")
_IDENTITY_NAMES = ("config.json", "earmark_wavcaps.json")


def weights_fingerprint(folder: Path) -> str:
    """Return a short hash of a model folder's config and weight files (names, sizes, mtimes).

    Cheap enough to compute at every load, and it changes when the weights are replaced.
    """
    digest = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.suffix in _IDENTITY_SUFFIXES or p.name in _IDENTITY_NAMES:
            st = p.stat()
            digest.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
