"""A re-implementation of the released ZerAuCap code's decoding loop, as the speed reference.

The released code (a MAGIC / SimCTG "plug-and-play contrastive decoding" step) does, at every
generated token, for one clip at a time:

1. softmax over the vocabulary and the top ``k`` logits;
2. copies the KV cache ``k`` times and runs all ``k`` candidates through the LLM (it needs their
   hidden states for the degeneration penalty, and keeps their logits for the next step), even
   with ``alpha = 0`` where the penalty has no weight;
3. builds the ``k`` texts "continuation + candidate" and decodes them one by one;
4. embeds them with the audio-language model's text encoder, every string padded to the fixed
   maximum length (77 tokens, as LAION CLAP's text pipeline does);
5. scores ``(1 - alpha) * p - alpha * penalty + beta * softmax(tau * cos)``, applies the end-token
   rule and keeps the best candidate's cache row and logits.

This module is written from the method spec (docs/zeraucap) and a reading of the public code; it
shares no code with it. Its choices follow Earmark's ``paper`` preset (docs/ZERAUCAP.md tabulates
how that differs from the released code): the end-token rule is the intended one (multiplier
``gamma * t`` on the end tokens themselves), p covers the tokenizer's vocabulary, special tokens
are written out in the scored text and the non-text ones are never candidates. So the reference
and Earmark choose the same tokens: only their cost differs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

log = logging.getLogger(__name__)

__all__ = ["ReferenceState", "ReferenceZerAuCap"]


@dataclass
class ReferenceState:
    """Decoding state of one clip in the reference loop.

    Attributes:
        prompt_len: Tokens of BOS + prompt.
        tokens: BOS + prompt + generated token ids.
        cache: The LLM's KV cache (batch 1 between steps).
        hidden: ``(1, S, H)`` last hidden states of every token so far.
        logits: ``(1, V)`` logits of the next token.
        generated: The generated ids.
        done: Whether an end token was chosen or ``max_length`` reached.
    """

    prompt_len: int
    tokens: list[int]
    cache: Any
    hidden: torch.Tensor
    logits: torch.Tensor
    generated: list[int] = field(default_factory=list)
    done: bool = False


class ReferenceZerAuCap:
    """The released code's per-step algorithm, batch size 1.

    Args:
        model: A transformers causal LM (OPT) in eval mode.
        tokenizer: Its tokenizer (prepends BOS like OPT's).
        clap_model: A transformers ``ClapModel``.
        clap_tokenizer: The CLAP text tokenizer.
        k: Candidates per step.
        alpha: Degeneration-penalty weight (0 in the paper; still computed, as in the code).
        beta: Audio-match weight.
        tau: Multiplier of the cosines before the softmax.
        gamma: End-token rule rate.
        max_length: Cap on BOS + prompt + continuation.
        score_window: Trailing continuation tokens scored.
        text_max_length: Fixed length every candidate string is padded to.
        end_token_ids: LLM ids that end a caption.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        clap_model: Any,
        clap_tokenizer: Any,
        *,
        end_token_ids: Sequence[int],
        k: int = 45,
        alpha: float = 0.0,
        beta: float = 0.5,
        tau: float = 10.0,
        gamma: float = 0.1,
        max_length: int = 78,
        score_window: int = 77,
        text_max_length: int = 77,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.clap_model = clap_model
        self.clap_tokenizer = clap_tokenizer
        self.k = k
        self.alpha = alpha
        self.beta = beta
        self.tau = tau
        self.gamma = gamma
        self.max_length = max_length
        self.score_window = score_window
        self.text_max_length = text_max_length
        self.end_token_ids = set(int(i) for i in end_token_ids)
        # The tokenizer's vocabulary (OPT's padded embedding rows are no words) and the special
        # tokens that write no text, which are never candidates.
        self.n_valid = len(tokenizer)
        decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
        specials = {int(i) for i, t in decoder.items() if getattr(t, "special", False)}
        specials |= {int(i) for i in getattr(tokenizer, "all_special_ids", [])}
        self.banned = sorted(i for i in specials - self.end_token_ids if i < self.n_valid)
        self.device = next(model.parameters()).device
        self.clap_device = next(clap_model.parameters()).device
        self._cache_kw = _cache_keyword(model)

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor | None, cache: Any) -> Any:
        # transformers 5 renames ``past_key_values`` to ``cache``; pass whichever it takes.
        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "use_cache": True,
            "output_hidden_states": True,
        }
        if cache is not None:
            kwargs[self._cache_kw] = cache
        out = self.model(**kwargs)
        new_cache = getattr(out, "cache", None)
        return out, new_cache if new_cache is not None else out.past_key_values

    @torch.inference_mode()
    def start(self, prompt: str) -> ReferenceState:
        """Run the prompt (BOS prepended by the tokenizer) and return the state after it."""
        ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"].to(self.device)
        out, cache = self._forward(ids, None, None)
        return ReferenceState(
            prompt_len=ids.shape[1],
            tokens=ids[0].tolist(),
            cache=cache,
            hidden=out.hidden_states[-1],
            logits=out.logits[:, -1, :].float(),
        )

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Text embeddings with every string padded to ``text_max_length`` tokens."""
        enc = self.clap_tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.text_max_length,
            return_tensors="pt",
        )
        out = self.clap_model.get_text_features(
            input_ids=enc["input_ids"].to(self.clap_device),
            attention_mask=enc["attention_mask"].to(self.clap_device),
        )
        return torch.nn.functional.normalize(out.pooler_output.float(), dim=-1)

    @torch.inference_mode()
    def step(self, state: ReferenceState, audio: torch.Tensor) -> int:
        """One step: forward all ``k`` candidates, score them, keep the best. Returns its id."""
        k = self.k
        t = len(state.generated)
        logits = state.logits[:, : self.n_valid]
        probs = torch.softmax(logits, dim=-1)
        ranked = logits.clone()
        ranked[:, self.banned] = float("-inf")
        _, top_ids = torch.topk(ranked, dim=-1, k=k)  # (1, k)
        top_probs = torch.gather(probs, 1, top_ids)

        # k copies of the cache, and every candidate through the LLM.
        state.cache.batch_repeat_interleave(k)
        seq = len(state.tokens)
        mask = torch.ones((k, seq + 1), dtype=torch.long, device=self.device)
        out, cache = self._forward(top_ids.view(-1, 1), mask, state.cache)
        next_logits = out.logits[:, -1, :].float()
        next_hidden = out.hidden_states[-1]  # (k, 1, H)
        context = state.hidden.expand(k, -1, -1)

        # Degeneration penalty: max cosine of each candidate's state with the context's.
        ctx_n = context / context.norm(dim=2, keepdim=True)
        nxt_n = next_hidden / next_hidden.norm(dim=2, keepdim=True)
        penalty = torch.matmul(ctx_n, nxt_n.transpose(1, 2)).squeeze(-1).amax(dim=-1)

        # The candidates' texts, decoded one at a time, then padded to the fixed length.
        continuation = state.tokens[state.prompt_len :]
        texts = []
        for cand in top_ids[0].tolist():
            window = [*continuation, cand][-self.score_window :]
            texts.append(self.tokenizer.decode(window, skip_special_tokens=False))
        text_emb = self.embed_texts(texts).to(audio.device)
        cos = torch.nn.functional.cosine_similarity(audio.view(1, -1).float(), text_emb)
        f = torch.softmax(self.tau * cos, dim=-1)

        scores = (1.0 - self.alpha) * top_probs[0] - self.alpha * penalty.float()
        scores = scores + self.beta * f.to(scores.device)
        penalised = []
        for j, cand in enumerate(top_ids[0].tolist()):
            # Intended rule: the end token's own score is scaled (the code indexes it wrongly).
            scale = self.gamma * t if cand in self.end_token_ids else 1.0
            penalised.append(scores[j] * scale)
        choice = int(torch.stack(penalised).argmax())
        chosen = int(top_ids[0, choice])

        # Keep the chosen candidate's cache row, hidden state and logits for the next step.
        rows = torch.tensor([choice], device=self.device)
        cache.batch_select_indices(rows)
        state.cache = cache
        state.logits = next_logits[choice : choice + 1]
        state.hidden = torch.cat([state.hidden, next_hidden[choice : choice + 1]], dim=1)
        state.tokens.append(chosen)
        state.generated.append(chosen)
        if chosen in self.end_token_ids or len(state.tokens) >= self.max_length:
            state.done = True
        return chosen

    def caption(self, prompt: str, audio: torch.Tensor) -> tuple[str, list[int]]:
        """Decode one clip to the end; returns the caption text and the generated ids."""
        state = self.start(prompt)
        if len(state.tokens) >= self.max_length:
            state.done = True
        while not state.done:
            self.step(state, audio)
        text = self.tokenizer.decode(state.generated, skip_special_tokens=True)
        return " ".join(text.split()), list(state.generated)


def _cache_keyword(model: Any) -> str:
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"
