"""An imported WavCaps folder as an :class:`captioner.types.AudioTextModel`."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from captioner.errors import ModelLoadError, safe_reason
from captioner.models import weights_fingerprint
from captioner.text import clean_texts
from captioner.wavcaps.config import WavCapsConfig
from captioner.wavcaps.convert import FALLBACK_TOKENIZER, FORMAT_VERSION, MARKER, WEIGHTS
from captioner.wavcaps.model import WavCapsModel, skip_weight_init

log = logging.getLogger(__name__)

__all__ = ["WavCapsBackend", "load_wavcaps"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
# Any real WordPiece vocabulary has thousands of entries; a stub built from nothing has five.
_MIN_TOKENIZER_SIZE = 100


class WavCapsBackend:
    """A loaded WavCaps HTSAT-BERT model with its tokenizer.

    Attributes:
        model_id: The folder it was loaded from; names the embedding space.
        fingerprint: Model identity for caches: folder, weights hash and precision.
        sample_rate: 32000 for the published model.
        window_seconds: 10.0 for the published model.
        dim: Embedding size (1024 for the published model).
        device: Where the model runs.
        dtype: Weights precision.
        max_text_tokens: Tokenizer truncation length, special tokens included.
    """

    def __init__(
        self, model: WavCapsModel, tokenizer: Any, *, model_id: str, fingerprint: str
    ) -> None:
        size = len(tokenizer)
        if size < _MIN_TOKENIZER_SIZE:
            raise ModelLoadError(
                f"WavCaps model {model_id}: its tokenizer has only {size} tokens "
                "(tokenizer files missing or broken?)"
            )
        if size > model.config.text_vocab_size:
            raise ModelLoadError(
                f"WavCaps model {model_id}: tokenizer has {size} tokens but the text encoder only "
                f"{model.config.text_vocab_size}"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        param = next(model.parameters())
        self.device: torch.device = param.device
        self.dtype: torch.dtype = param.dtype
        self.fingerprint = f"{model_id}|{fingerprint}|{self.dtype}"
        self.sample_rate = model.config.sample_rate
        self.window_seconds = model.config.window_seconds
        self.dim = model.config.embed_size
        self.max_text_tokens = model.config.max_text_tokens

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """Embed mono windows ``(B, samples)`` at 32 kHz -> ``(B, dim)`` float32, unit norm.

        Shorter windows are zero-padded on the right, as WavCaps pads short clips.

        Raises:
            ValueError: Windows longer than the model window, or not shaped ``(B, samples)``.
        """
        with torch.inference_mode():
            return self.model.encode_audio(windows.to(self.device)).float()

    def embed_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed strings -> ``(len(texts), dim)`` float32, unit norm.

        Like WavCaps: lower-cased WordPiece, padded to the longest string of the call and
        truncated at 30 tokens, ``[CLS]`` and ``[SEP]`` included. Any Python string is accepted
        (lone surrogates from invalid UTF-8 are replaced).
        """
        if not texts:
            return torch.zeros((0, self.dim), dtype=torch.float32, device=self.device)
        enc = self.tokenizer(
            clean_texts(texts),
            padding="longest",
            truncation=True,
            max_length=self.max_text_tokens,
            return_tensors="pt",
        )
        with torch.inference_mode():
            out = self.model.encode_text(
                enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)
            )
        return out.float()


def _read_config(folder: Path) -> WavCapsConfig:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"WavCaps model {folder}: unreadable {MARKER} ({exc})") from exc
    if not isinstance(marker, dict) or marker.get("format") != "earmark-wavcaps":
        raise ModelLoadError(f"WavCaps model {folder}: {MARKER} is not an Earmark WavCaps marker")
    if int(marker.get("version", 0)) > FORMAT_VERSION:
        raise ModelLoadError(
            f"WavCaps model {folder} was written by a newer Earmark (format "
            f"{marker.get('version')}); update Earmark or import the checkpoint again"
        )
    try:
        return WavCapsConfig.from_dict(marker.get("config") or {})
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"WavCaps model {folder}: bad config in {MARKER} ({exc})") from exc


def _load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    source = folder
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        from captioner.errors import ModelNotFoundError
        from captioner.models import resolve

        try:
            source = resolve(FALLBACK_TOKENIZER)
        except ModelNotFoundError:
            raise ModelLoadError(
                f"WavCaps model {folder} has no tokenizer files and {FALLBACK_TOKENIZER} is not "
                f"on this computer: run `earmark models download {FALLBACK_TOKENIZER}`, or import "
                "again with --tokenizer DIR"
            ) from None
    try:
        return AutoTokenizer.from_pretrained(str(source), trust_remote_code=False)
    except Exception as exc:  # transformers raises many kinds here
        raise ModelLoadError(
            f"WavCaps model {folder}: cannot load its tokenizer ({safe_reason(exc)})"
        ) from None


def load_wavcaps(
    path: str | os.PathLike[str], *, device: torch.device | str, dtype: torch.dtype
) -> WavCapsBackend:
    """Load a folder written by :func:`captioner.wavcaps.import_checkpoint`.

    Args:
        path: The imported folder.
        device: Torch device to run on.
        dtype: Weights precision (the log-mel front end always computes in float32).

    Raises:
        ModelLoadError: The folder is incomplete or inconsistent; the message says what is wrong.
    """
    from safetensors.torch import load_file

    folder = Path(path).expanduser()
    config = _read_config(folder)
    if not (folder / WEIGHTS).is_file():
        raise ModelLoadError(f"WavCaps model {folder}: {WEIGHTS} is missing")
    tokenizer = _load_tokenizer(folder)
    with skip_weight_init():
        model = WavCapsModel(config)
    try:
        state = load_file(str(folder / WEIGHTS), device="cpu")
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # safetensors and torch raise several kinds
        raise ModelLoadError(
            f"WavCaps model {folder}: weights do not fit its config ({safe_reason(exc)}); "
            "import the checkpoint again"
        ) from None
    del state
    # The front end keeps its window and mel basis in float32 through this cast (see
    # LogMelFrontEnd._apply): rounding them to half precision ruins tonal audio.
    model.to(device=torch.device(device), dtype=dtype).eval()
    log.info("WavCaps model loaded from %s on %s (%s)", folder, device, dtype)
    return WavCapsBackend(
        model, tokenizer, model_id=str(folder), fingerprint=weights_fingerprint(folder)
    )
