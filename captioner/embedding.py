"""Audio embeddings of decoded clips: all windows of a batch in few audio-model calls."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from captioner.audio import AudioWindows
from captioner.types import AudioTextModel

log = logging.getLogger(__name__)

__all__ = ["embed_clip_windows"]


def embed_clip_windows(
    audio_model: AudioTextModel, clips: Sequence[AudioWindows], per_call: int = 16
) -> list[np.ndarray]:
    """One clip vector per clip: the re-normalised mean of its unit window embeddings.

    The windows of all clips go through the audio model together (in chunks), so a batch
    of clips costs one audio forward on a GPU instead of one per clip.

    Args:
        audio_model: The audio-language model.
        clips: Decoded windows of each clip.
        per_call: Most windows per audio-model call (bounds memory for long files and batches).

    Returns:
        One L2-normalised float32 ``(dim,)`` vector per clip, in order.
    """
    if not clips:
        return []
    counts = [c.windows.shape[0] for c in clips]
    chunk = max(1, per_call)
    parts = []
    for clip in clips:
        for i in range(0, clip.windows.shape[0], chunk):
            parts.append(torch.from_numpy(clip.windows[i : i + chunk]))
    # Group consecutive window blocks into calls of at most ``chunk`` windows.
    embeddings: list[torch.Tensor] = []
    group: list[torch.Tensor] = []
    size = 0
    for part in parts:
        if group and size + part.shape[0] > chunk:
            embeddings.append(audio_model.embed_audio(torch.cat(group)).float().cpu())
            group, size = [], 0
        group.append(part)
        size += part.shape[0]
    if group:
        embeddings.append(audio_model.embed_audio(torch.cat(group)).float().cpu())
    flat = torch.cat(embeddings)
    vectors = []
    for block in torch.split(flat, counts):
        # Mean of unit window embeddings, re-normalised: every window counts the same.
        vec = torch.nn.functional.normalize(block.mean(dim=0), dim=0)
        vectors.append(vec.numpy().astype(np.float32))
    return vectors
