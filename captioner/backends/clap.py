"""transformers ``ClapModel`` checkpoints (LAION CLAP) as an :class:`AudioTextModel`.

Three traps of the stock classes are handled here: the feature extractor's default truncation
``"fusion"`` breaks unfused checkpoints (``"rand_trunc"`` is used for them; our windows are exactly
the model window, so nothing is cropped); text is padded to the longest string of each call, not
to a fixed 77; and a processor folder without tokenizer files yields a useless 5-token tokenizer,
which is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from captioner.errors import ModelLoadError, safe_reason
from captioner.models import weights_fingerprint
from captioner.text import clean_texts

log = logging.getLogger(__name__)

__all__ = ["ClapBackend"]

# Any real text tokenizer has thousands of entries; the stub built from nothing has five.
_MIN_TOKENIZER_SIZE = 100


class ClapBackend:
    """A transformers ``ClapModel`` with its tokenizer and feature extractor.

    Attributes:
        model_id: The reference it was loaded from; names the embedding space.
        fingerprint: Model identity for caches: reference, weights hash and precision.
        sample_rate: Audio rate the model expects (48 kHz for LAION CLAP).
        window_seconds: Length of one model window (10 s for LAION CLAP).
        dim: Embedding size.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        extractor: Any,
        *,
        model_id: str,
        fingerprint: str,
    ) -> None:
        if len(tokenizer) < _MIN_TOKENIZER_SIZE:
            raise ModelLoadError(
                f"audio-language model {model_id}: its tokenizer has only {len(tokenizer)} "
                "tokens (tokenizer files missing from the model folder?)"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.extractor = extractor
        self.model_id = model_id
        self.device: torch.device = next(model.parameters()).device
        self.dtype: torch.dtype = next(model.parameters()).dtype
        self.fingerprint = f"{model_id}|{fingerprint}|{self.dtype}"
        self.sample_rate = int(extractor.sampling_rate)
        self.window_seconds = float(extractor.max_length_s)
        self.dim = int(model.config.projection_dim)
        fused = bool(getattr(model.config.audio_config, "enable_fusion", False))
        self._truncation = "fusion" if fused else "rand_trunc"
        positions = int(model.config.text_config.max_position_embeddings)
        # RoBERTa reserves padding_idx + 1 positions; never ask for more than the model has.
        limit = min(int(getattr(tokenizer, "model_max_length", 512) or 512), positions - 2)
        self._max_text_tokens = max(8, limit)

    @classmethod
    def load(cls, path: Path, *, ref: str, device: torch.device, dtype: torch.dtype) -> ClapBackend:
        """Load a ``ClapModel`` checkpoint folder.

        Raises:
            ModelLoadError: The folder is not a usable CLAP checkpoint.
        """
        from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel

        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"audio-language model {ref}: unreadable config ({exc})") from exc
        if config.get("model_type") != "clap":
            raise ModelLoadError(
                f"audio-language model {ref}: not a CLAP model "
                f"(model_type={config.get('model_type')!r})"
            )
        try:
            model = ClapModel.from_pretrained(str(path), dtype=dtype, trust_remote_code=False)
            tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
            extractor = ClapFeatureExtractor.from_pretrained(str(path))
        except Exception as exc:  # transformers raises many kinds here
            raise ModelLoadError(
                f"audio-language model {ref}: cannot load it ({safe_reason(exc)})"
            ) from None
        # transformers' typed `.to` wrapper confuses mypy; Module.to is what runs.
        torch.nn.Module.to(model, device)
        model.eval()
        if device.type == "cuda":
            # ClapModel does not declare SDPA support, so transformers picks eager attention; its
            # text tower calls the shared attention interface and builds its mask from the same
            # setting, so switching to SDPA is safe (checked equal to eager in the tests).
            text_config: Any = model.config.text_config
            text_config._attn_implementation = "sdpa"
        return cls(
            model,
            tokenizer,
            extractor,
            model_id=ref,
            fingerprint=weights_fingerprint(path),
        )

    def quantize_text_int8(self) -> None:
        """Opt-in CPU speed mode: int8 dynamic quantisation of the text tower's linear layers.

        Changes the embeddings slightly, so captions may change wording; the fingerprint changes
        too, so keyword embeddings are cached separately.
        """
        import warnings

        from torch.ao.quantization import quantize_dynamic

        if self.device.type != "cpu":
            raise ValueError("int8 text encoder is a CPU mode")
        with warnings.catch_warnings():
            # torch marks dynamic quantisation deprecated (moving to torchao); the mode stays
            # opt-in and works with the installed torch.
            warnings.simplefilter("ignore")
            self.model.text_model = quantize_dynamic(
                self.model.text_model, {torch.nn.Linear}, dtype=torch.qint8
            )
            self.model.text_projection = quantize_dynamic(
                self.model.text_projection, {torch.nn.Linear}, dtype=torch.qint8
            )
        self.fingerprint += "|text-int8"

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """Embed mono windows ``(B, samples)`` at :attr:`sample_rate` -> ``(B, dim)`` float32."""
        arrays = [w.detach().cpu().numpy().astype(np.float32, copy=False) for w in windows]
        feats = self.extractor(
            arrays,
            sampling_rate=self.sample_rate,
            return_tensors="pt",
            truncation=self._truncation,
            padding="repeatpad",
        )
        with torch.inference_mode():
            out = self.model.get_audio_features(
                input_features=feats["input_features"].to(self.device, self.dtype),
                is_longer=feats["is_longer"].to(self.device) if "is_longer" in feats else None,
            )
        return torch.nn.functional.normalize(out.pooler_output.float(), dim=-1)

    def embed_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed strings -> ``(len(texts), dim)`` float32, padded to the longest in the call.

        Any Python string is accepted (lone surrogates from invalid UTF-8 are replaced).
        """
        enc = self.tokenizer(
            clean_texts(texts),
            padding=True,
            truncation=True,
            max_length=self._max_text_tokens,
            # numpy then from_numpy: building torch tensors from lists costs more than encoding.
            return_tensors="np",
        )
        with torch.inference_mode():
            out = self.model.get_text_features(
                input_ids=torch.from_numpy(enc["input_ids"]).to(self.device),
                attention_mask=torch.from_numpy(enc["attention_mask"]).to(self.device),
            )
        return torch.nn.functional.normalize(out.pooler_output.float(), dim=-1)
