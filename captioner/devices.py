"""Where and in what precision the models run: ``device="auto"`` and default dtypes."""

from __future__ import annotations

import logging

import torch

from captioner.errors import CaptionerError

log = logging.getLogger(__name__)

__all__ = ["pick_device", "pick_dtype"]


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA, then MPS, then CPU; other values pass through.

    Raises:
        CaptionerError: If the named device is not available.
    """
    if isinstance(device, torch.device):
        return device
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CaptionerError("device cuda requested, but no CUDA GPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise CaptionerError("device mps requested, but MPS is not available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise CaptionerError(f"unknown device {device!r}") from exc


def pick_dtype(device: torch.device, dtype: str | torch.dtype | None) -> torch.dtype:
    """Half precision on GPUs, float32 on CPU, unless ``dtype`` says otherwise.

    ``None`` and ``"auto"`` choose by device; names like ``"float32"`` or ``"bf16"`` are taken
    as given.
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype.strip().lower() == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "float16": torch.float16,
        "fp16": torch.float16,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
    }
    try:
        return table[dtype.lower()]
    except KeyError:
        raise CaptionerError(f"unknown dtype {dtype!r}; use one of {', '.join(table)}") from None
