"""The language-model side of guided decoding: a causal LM driven one token at a time.

:class:`CausalLM` wraps any transformers causal LM and its tokenizer behind the small
:class:`captioner.decoding.StepLanguageModel` interface the decoder needs: a batched prefill with
left padding, one cached step for the chosen tokens, and (only when the degeneration penalty is on)
a forward of every candidate.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from captioner.errors import ModelLoadError, safe_reason

log = logging.getLogger(__name__)

__all__ = ["CausalLM", "LMState"]


@dataclass
class LMState:
    """Decoding state of a batch of sequences.

    Attributes:
        cache: The model's KV cache for every row.
        attention_mask: ``(B, L)`` 1 for real tokens, 0 for left padding.
        padded: Whether any row holds padding (then the mask must be passed to the model).
        next_position: ``(B,)`` position id of each row's next token.
        logits: ``(B, V)`` float32 logits of each row's next token.
        context_hidden: ``(B, L, H)`` L2-normalised last hidden states of the context, zero at
            padding; kept only when the degeneration penalty needs them.
    """

    cache: Any
    attention_mask: torch.Tensor
    padded: bool
    next_position: torch.Tensor
    logits: torch.Tensor
    context_hidden: torch.Tensor | None = None


class CausalLM:
    """A transformers causal LM plus tokenizer, stepped with a KV cache.

    Args:
        model: A loaded ``AutoModelForCausalLM`` in eval mode.
        tokenizer: Its tokenizer.
        ref: The model reference it was loaded from (for provenance).
    """

    def __init__(self, model: Any, tokenizer: Any, ref: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.ref = ref
        self.device: torch.device = next(model.parameters()).device
        params = inspect.signature(model.forward).parameters
        # transformers 5 renames ``past_key_values`` to ``cache``; accept either.
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._has_logits_to_keep = "logits_to_keep" in params
        self.bos_token_id: int | None = tokenizer.bos_token_id
        self.eos_token_id: int | None = tokenizer.eos_token_id
        # OPT pads its embedding matrix past the tokenizer (50272 rows for 50265 tokens); those
        # rows are no words, so they take no part in the softmax or the candidates.
        rows = getattr(getattr(model, "config", None), "vocab_size", None)
        self.n_valid_tokens = min(len(tokenizer), int(rows)) if rows else len(tokenizer)
        # The guided step decodes k strings per row per step; the Rust batch decoder does it in
        # one call, a third of transformers' per-string loop. Same strings unless the tokenizer
        # post-processes decoded text (clean_up_tokenization_spaces), where we keep the slow path.
        backend = getattr(tokenizer, "_tokenizer", None)
        self._rust_decode = (
            backend.decode_batch
            if backend is not None
            and hasattr(backend, "decode_batch")
            and not getattr(tokenizer, "clean_up_tokenization_spaces", False)
            else None
        )
        self.pad_token_id: int = (
            tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else (self.eos_token_id if self.eos_token_id is not None else 0)
        )

    @classmethod
    def load(cls, path: Path, *, ref: str, device: torch.device, dtype: torch.dtype) -> CausalLM:
        """Load a causal LM and tokenizer from a local folder.

        Raises:
            ModelLoadError: If the folder holds no usable causal LM or tokenizer.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        except Exception as exc:  # transformers raises many kinds here
            raise ModelLoadError(
                f"language model {ref}: cannot load its tokenizer ({safe_reason(exc)})"
            ) from None
        kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": False}
        if device.type == "cuda":
            kwargs["attn_implementation"] = "sdpa"
        try:
            model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
        except Exception as exc:
            raise ModelLoadError(
                f"language model {ref}: cannot load it ({safe_reason(exc)})"
            ) from None
        # transformers' typed `.to` wrapper confuses mypy; Module.to is what runs.
        torch.nn.Module.to(model, device)
        model.eval()
        return cls(model, tokenizer, ref)

    # ----------------------------------------------------------------- tokens and text
    def encode_prompt(self, prompt: str) -> list[int]:
        """Return BOS + the prompt's tokens (BOS added explicitly, whatever the tokenizer does)."""
        ids: list[int] = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return ([self.bos_token_id] if self.bos_token_id is not None else []) + list(ids)

    def decode_batch(
        self, sequences: Sequence[Sequence[int]], *, skip_special_tokens: bool = True
    ) -> list[str]:
        """Decode many token lists in one tokenizer call.

        Args:
            sequences: Token id lists.
            skip_special_tokens: Drop special tokens (``</s>``, ``<pad>``, ...); False writes
                them out literally, as the released code's scoring text does.
        """
        if self._rust_decode is not None:
            return list(self._rust_decode(sequences, skip_special_tokens=skip_special_tokens))
        return list(self.tokenizer.batch_decode(sequences, skip_special_tokens=skip_special_tokens))

    def special_token_ids(self) -> list[int]:
        """Ids of every special token (``<s>``, ``<pad>``, ``</s>``, ``<unk>`` for OPT).

        OPT's ``<s>`` (id 0) is not one of the tokenizer's named special tokens, but its
        tokenizer file marks it special; both sources count.
        """
        ids = {int(i) for i in getattr(self.tokenizer, "all_special_ids", [])}
        decoder = getattr(self.tokenizer, "added_tokens_decoder", None) or {}
        ids.update(int(i) for i, tok in decoder.items() if getattr(tok, "special", False))
        return sorted(i for i in ids if 0 <= i < self.n_valid_tokens)

    def end_token_ids(self) -> list[int]:
        """Ids of ".", " !", " ?" and EOS: the tokens that end a caption."""
        ids: list[int] = []
        for piece in (".", " !", " ?"):
            enc = self.tokenizer(piece, add_special_tokens=False)["input_ids"]
            if len(enc) == 1:
                ids.append(int(enc[0]))
            else:
                log.warning("%r is not a single token of %s; not an end token", piece, self.ref)
        if self.eos_token_id is not None:
            ids.append(int(self.eos_token_id))
        return sorted(set(ids))

    # ----------------------------------------------------------------- forward passes
    def _forward(
        self,
        input_ids: torch.Tensor,
        mask: torch.Tensor | None,
        positions: torch.Tensor,
        cache: Any,
        with_hidden: bool,
        last_only: bool,
    ) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "position_ids": positions,
            "use_cache": True,
            self._cache_kw: cache,
        }
        if last_only and self._has_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        if with_hidden:
            kwargs["output_hidden_states"] = True
        out = self.model(**kwargs)
        new_cache = getattr(out, "cache", None)
        if new_cache is None:
            new_cache = getattr(out, "past_key_values", None)
        hidden = out.hidden_states[-1] if with_hidden else None
        return out.logits[:, -1, :].float(), new_cache, hidden

    def start(self, prompts: Sequence[Sequence[int]], *, with_hidden: bool = False) -> LMState:
        """Run the prompts (left-padded into one batch) and return the state after them."""
        longest = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), longest), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), longest), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, longest - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            mask[row, longest - len(prompt) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        padded = bool((mask == 0).any())
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        logits, cache, hidden = self._forward(
            ids, mask if padded else None, positions, None, with_hidden, last_only=True
        )
        context = None
        if hidden is not None:
            context = torch.nn.functional.normalize(hidden.float(), dim=-1) * mask[..., None]
        return LMState(cache, mask, padded, mask.sum(dim=1), logits, context)

    def advance(self, state: LMState, tokens: torch.Tensor, *, with_hidden: bool = False) -> None:
        """Feed one chosen token per row (``tokens`` shaped ``(B,)``) and update ``state``."""
        ones = torch.ones((state.attention_mask.shape[0], 1), dtype=torch.long, device=self.device)
        state.attention_mask = torch.cat([state.attention_mask, ones], dim=1)
        logits, state.cache, hidden = self._forward(
            tokens.view(-1, 1).to(self.device),
            state.attention_mask if state.padded else None,
            state.next_position.view(-1, 1),
            state.cache,
            with_hidden,
            last_only=False,
        )
        state.logits = logits
        state.next_position = state.next_position + 1
        if hidden is not None and state.context_hidden is not None:
            h = torch.nn.functional.normalize(hidden.float(), dim=-1)
            state.context_hidden = torch.cat([state.context_hidden, h], dim=1)

    def candidate_states(
        self, state: LMState, candidates: torch.Tensor
    ) -> tuple[LMState, torch.Tensor]:
        """Run every candidate through the LM (for the degeneration penalty).

        Args:
            state: State of ``B`` rows; left untouched.
            candidates: ``(B, k)`` token ids.

        Returns:
            ``(expanded, hidden)``: the state of ``B * k`` rows after each candidate (row
            ``b * k + j`` is row ``b`` followed by candidate ``j``) and the candidates'
            L2-normalised last hidden states ``(B, k, H)``.
        """
        b, k = candidates.shape
        cache = copy.deepcopy(state.cache)
        cache.batch_repeat_interleave(k)
        expanded = LMState(
            cache,
            state.attention_mask.repeat_interleave(k, dim=0),
            state.padded,
            state.next_position.repeat_interleave(k, dim=0),
            state.logits.repeat_interleave(k, dim=0),
            None
            if state.context_hidden is None
            else state.context_hidden.repeat_interleave(k, dim=0),
        )
        self.advance(expanded, candidates.reshape(-1), with_hidden=True)
        assert expanded.context_hidden is not None
        hidden = expanded.context_hidden[:, -1, :].reshape(b, k, -1)
        return expanded, hidden

    def select_rows(self, state: LMState, rows: torch.Tensor) -> None:
        """Keep only ``rows`` (indices into the batch) of ``state``, in that order."""
        rows = rows.to(self.device)
        state.cache.batch_select_indices(rows)
        state.attention_mask = state.attention_mask[rows]
        state.next_position = state.next_position[rows]
        state.logits = state.logits[rows]
        if state.context_hidden is not None:
            state.context_hidden = state.context_hidden[rows]
        if state.padded:
            state.padded = bool((state.attention_mask == 0).any())
