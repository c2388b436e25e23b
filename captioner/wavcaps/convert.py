"""Import a WavCaps ``.pt`` checkpoint into a self-contained Earmark model folder.

The checkpoint is unpickled with ``weights_only=True`` (plain tensors and containers only),
converted by :func:`captioner.wavcaps.mapping.convert_state_dict`, and written as safetensors plus
a JSON marker, into a hidden sibling folder that is renamed into place once complete.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import shutil
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from captioner.errors import safe_reason
from captioner.wavcaps.config import WavCapsConfig
from captioner.wavcaps.mapping import WavCapsImportError, convert_state_dict

log = logging.getLogger(__name__)

__all__ = ["FALLBACK_TOKENIZER", "FORMAT_VERSION", "MARKER", "WEIGHTS", "import_checkpoint"]

#: File that marks (and configures) an imported model folder. Same name as
#: ``captioner.backends.WAVCAPS_MARKER``, which dispatches on it.
MARKER = "earmark_wavcaps.json"
#: Version of the folder layout; a loader refuses folders from a newer Earmark.
FORMAT_VERSION = 1
#: The weights file inside an imported folder.
WEIGHTS = "model.safetensors"
#: The tokenizer WavCaps' text encoder was trained with. Without ``--tokenizer``, the importer
#: copies it from the local Hugging Face cache when there, and loading looks there again if not.
FALLBACK_TOKENIZER = "bert-base-uncased"


def _numpy_number_globals() -> list[Any]:
    """The numpy globals that rebuild plain numbers, under the names old and new numpy pickle.

    WavCaps' trainer stores its cosine schedule's learning rate, a ``numpy.float64``, in the
    optimizer state. Unpickling it needs numpy's scalar reconstructor, ``numpy.dtype`` and the
    dtype's class; they build a number from a dtype code and raw bytes and run no other code.
    Object, string and structured dtypes are left out, so nothing but numbers can come back.
    """
    core: Any = np._core if hasattr(np, "_core") else np.core
    scalar = core.multiarray.scalar
    kinds = "?bBhHiIlLqQefdgFDG"
    classes = {type(np.dtype(code)) for code in kinds}
    return [
        (scalar, "numpy.core.multiarray.scalar"),  # written by numpy 1.x
        (scalar, "numpy._core.multiarray.scalar"),  # written by numpy 2.x
        np.dtype,
        *sorted(classes, key=lambda c: c.__name__),
    ]


def _load_checkpoint(checkpoint: Path) -> tuple[dict[str, torch.Tensor], Mapping[str, Any] | None]:
    """Unpickle weights and plain data only; returns the ``model`` entry and saved ``config``."""
    if checkpoint.is_dir():
        raise WavCapsImportError(f"{checkpoint} is not a WavCaps checkpoint (it is a folder)")
    try:
        # weights_only: a .pt file is a pickle; never run code from a downloaded file.
        # mmap: training checkpoints also hold Adam's moments (twice the model); mapping the
        # file reads only the tensors we touch. Old-style (non-zip) files cannot be mapped.
        with torch.serialization.safe_globals(_numpy_number_globals()):
            data: Any = torch.load(
                checkpoint,
                map_location="cpu",
                weights_only=True,
                mmap=zipfile.is_zipfile(checkpoint),
            )
    except FileNotFoundError:
        raise WavCapsImportError(f"checkpoint not found: {checkpoint}") from None
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise WavCapsImportError(
                f"{checkpoint} is not a WavCaps checkpoint (not a PyTorch checkpoint file)"
            ) from None
        raise WavCapsImportError(
            f"{checkpoint} is not a WavCaps checkpoint: besides weights it holds a Python "
            f"object ({found.group(1)}) that could run code when loaded, and Earmark never "
            "loads those. Use the checkpoint as WavCaps published it"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        log.debug("torch.load(%s) failed: %s", checkpoint, safe_reason(exc))
        raise WavCapsImportError(
            f"{checkpoint} is not a WavCaps checkpoint (not a PyTorch checkpoint file, or a "
            "damaged one)"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise WavCapsImportError(
            f"{checkpoint} is not a WavCaps checkpoint (expected its weights under the key 'model')"
        )
    state = data["model"]
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WavCapsImportError(f"{checkpoint}: entries that are not tensors: {', '.join(bad)}")
    saved = data.get("config")
    return state, saved if isinstance(saved, Mapping) else None


def _cached_fallback_tokenizer() -> Path | None:
    """Return ``bert-base-uncased``'s folder in the local HF cache, or None (never downloads)."""
    from captioner.errors import ModelNotFoundError
    from captioner.models import resolve

    try:
        return resolve(FALLBACK_TOKENIZER)
    except ModelNotFoundError:
        return None


def _copy_tokenizer(tokenizer_dir: Path, dest: Path, config: WavCapsConfig) -> None:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), trust_remote_code=False)
    except Exception as exc:  # transformers raises many kinds here
        raise WavCapsImportError(
            f"cannot load a tokenizer from {tokenizer_dir}: {safe_reason(exc)}"
        ) from None
    size = len(tokenizer)
    if size < 100 or size > config.text_vocab_size:
        raise WavCapsImportError(
            f"tokenizer in {tokenizer_dir} has {size} tokens; the checkpoint's BERT has "
            f"{config.text_vocab_size} (use bert-base-uncased's tokenizer)"
        )
    tokenizer.save_pretrained(str(dest))


def import_checkpoint(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    tokenizer_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Convert a WavCaps HTSAT-BERT ``.pt`` checkpoint into a self-contained Earmark model folder.

    The folder holds ``model.safetensors``, ``earmark_wavcaps.json`` (config and provenance; it
    also marks the folder for :func:`captioner.backends.load_audio_text_model`) and the
    tokenizer files (from ``tokenizer_dir``, else from ``bert-base-uncased`` in the local HF
    cache when it is there). Nothing in it needs unpickling to load.
    The folder appears complete or not at all: it is written next to ``out_dir`` and renamed.

    Args:
        checkpoint: The WavCaps ``.pt`` file (weights under the key ``model``).
        out_dir: Folder to create; it must not exist or be empty.
        tokenizer_dir: A BERT (``bert-base-uncased``) tokenizer folder to copy in. Without it
            and without a cached ``bert-base-uncased``, loading looks in the cache again.

    Returns:
        ``out_dir``.

    Raises:
        WavCapsImportError: Bad checkpoint, bad tokenizer or unusable ``out_dir``; nothing is
            written then.
    """
    from safetensors.torch import save_file

    src = Path(checkpoint).expanduser()
    dest = Path(out_dir).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise WavCapsImportError(f"{dest} already exists and is not an empty folder")
    state, saved_config = _load_checkpoint(src)
    tensors, report = convert_state_dict(state, saved_config=saved_config)
    del state
    dest.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp, which makes it private) so the folder gets the user's usual mode.
    tmp = dest.parent / f".{dest.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        if tokenizer_dir is not None:
            _copy_tokenizer(Path(tokenizer_dir).expanduser(), tmp, report.config)
        else:
            cached = _cached_fallback_tokenizer()
            if cached is not None:
                _copy_tokenizer(cached, tmp, report.config)
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt"})
        marker = {
            "format": "earmark-wavcaps",
            "version": FORMAT_VERSION,
            "config": report.config.to_dict(),
            "source": {"checkpoint": src.name, "size_bytes": src.stat().st_size},
            "checked": report.checked,
            "ignored": report.ignored,
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        # safetensors creates its file owner-only; give it the marker's (umask-derived) mode.
        os.chmod(tmp / WEIGHTS, (tmp / MARKER).stat().st_mode & 0o777)
        if dest.exists():
            dest.rmdir()  # empty, checked above
        tmp.rename(dest)
    except OSError as exc:  # disk full, permissions, a folder appearing meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        raise WavCapsImportError(f"cannot write {dest}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "imported %s: %d tensors mapped, %d checked, %d ignored -> %s",
        src.name,
        len(report.mapped),
        len(report.checked),
        len(report.ignored),
        dest,
    )
    return dest
