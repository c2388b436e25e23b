"""Audio-language model backends behind :class:`captioner.types.AudioTextModel`.

:func:`load_audio_text_model` picks the backend from the model folder: an imported WavCaps model
(a folder with ``earmark_wavcaps.json``) or any transformers ``ClapModel`` checkpoint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from captioner.models import resolve

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from captioner.types import AudioTextModel

log = logging.getLogger(__name__)

__all__ = ["WAVCAPS_MARKER", "load_audio_text_model"]

#: File that marks a folder as an imported WavCaps HTSAT-BERT model.
WAVCAPS_MARKER = "earmark_wavcaps.json"


def load_audio_text_model(
    ref: str,
    *,
    device: torch.device | str,
    dtype: torch.dtype,
    cache_dir: str | None = None,
) -> AudioTextModel:
    """Load the audio-language model ``ref`` (a local folder or an HF id already downloaded).

    Args:
        ref: Model reference.
        device: Torch device to run it on.
        dtype: Weights precision (float16 on GPU, float32 on CPU).
        cache_dir: Hugging Face cache folder to look in.

    Raises:
        ModelNotFoundError: The model is not on this computer.
        ModelLoadError: It is there but cannot be loaded.
    """
    import torch

    path = resolve(ref, cache_dir=cache_dir)
    dev = torch.device(device)
    if (path / WAVCAPS_MARKER).is_file():
        from captioner.wavcaps import load_wavcaps

        model: AudioTextModel = load_wavcaps(path, device=dev, dtype=dtype)
        return model
    from captioner.backends.clap import ClapBackend

    return ClapBackend.load(path, ref=ref, device=dev, dtype=dtype)
