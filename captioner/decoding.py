"""ZerAuCap guided decoding: the LLM writes, the audio-language model steers.

One step for each row of a batch (``t`` = tokens generated so far):

1. ``p = softmax(logits)`` over the full vocabulary; candidates = the top ``k`` (p is not
   renormalised over them).
2. For each candidate, the text "continuation so far + candidate" (prompt excluded), cut to its
   last ``score_window`` LLM tokens and decoded; all rows' ``k`` strings go through the text
   encoder in one call.
3. ``f = softmax(tau * cos(audio, text))`` over the ``k`` candidates.
4. ``score = m * ((1 - alpha) * p - alpha * penalty + beta * f)`` with ``m = gamma * t`` for end
   tokens and 1 otherwise. The released code applies ``m`` at a mismatched index (sorted order
   versus LLM order); this is the intended rule.
5. Greedy argmax; a row stops after an end token (kept) or when BOS + prompt + continuation reach
   ``max_length`` tokens.

Speed-ups that never change the result: only the chosen token is fed to the LLM when
``alpha == 0`` (KV cache); rows are batched (left padding) and finished rows leave the batch; and
the *early decision*: since ``f`` lies in [0, 1], a row whose best lower bound ``m * base`` beats
every other candidate's upper bound ``m * (base + beta)`` has a certain winner, and its text-encoder
work is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from captioner.config import CaptionerConfig
from captioner.errors import CaptionCancelledError
from captioner.llm import LMState

log = logging.getLogger(__name__)

__all__ = [
    "DecodeResult",
    "DecodingBatch",
    "GuidedDecoder",
    "StepLanguageModel",
    "StepOutcome",
    "end_multiplier",
    "guided_scores",
]


class StepLanguageModel(Protocol):
    """What the decoder needs from a language model (:class:`captioner.llm.CausalLM`)."""

    n_valid_tokens: int

    def encode_prompt(self, prompt: str) -> list[int]:
        """BOS + the prompt's token ids."""
        ...

    def decode_batch(self, sequences: Sequence[Sequence[int]]) -> list[str]:
        """Decode token lists to strings, special tokens dropped."""
        ...

    def start(self, prompts: Sequence[Sequence[int]], *, with_hidden: bool = False) -> LMState:
        """Prefill a batch of prompts."""
        ...

    def advance(self, state: LMState, tokens: torch.Tensor, *, with_hidden: bool = False) -> None:
        """Feed one token per row."""
        ...

    def candidate_states(
        self, state: LMState, candidates: torch.Tensor
    ) -> tuple[LMState, torch.Tensor]:
        """Forward every candidate; returns the expanded state and their hidden states."""
        ...

    def select_rows(self, state: LMState, rows: torch.Tensor) -> None:
        """Keep only the given rows."""
        ...


def end_multiplier(is_end: torch.Tensor, t: int, gamma: float) -> torch.Tensor:
    """Return the end-token rule's multiplier: ``gamma * t`` where ``is_end``, else 1.

    Args:
        is_end: Boolean tensor marking end-token candidates.
        t: Tokens generated so far (0 at the first step: ending is then impossible).
        gamma: The rule's rate (paper: 0.1, so ending is damped before t = 10, boosted after).
    """
    ones = torch.ones(is_end.shape, dtype=torch.float32, device=is_end.device)
    return torch.where(is_end, torch.full_like(ones, gamma * t), ones)


def guided_scores(
    base: torch.Tensor, f: torch.Tensor, multiplier: torch.Tensor, beta: float
) -> torch.Tensor:
    """Return ``multiplier * (base + beta * f)``, the step's final candidate scores.

    ``base`` is ``(1 - alpha) * p - alpha * penalty``. The early decision's bounds use this same
    expression with ``f = 0`` and ``f = 1``, so they hold exactly in floating point too.
    """
    return multiplier * (base + beta * f)


@dataclass
class DecodeResult:
    """The outcome of decoding one prompt.

    Attributes:
        text: The caption: the decoded continuation, whitespace collapsed.
        token_ids: The generated LLM token ids (end token included).
        stop_reason: ``"end-token"`` or ``"max-length"``.
        steps: Decoding steps run (= generated tokens).
        early_decisions: Steps whose text-encoder call was skipped by the early decision.
    """

    text: str
    token_ids: list[int]
    stop_reason: str
    steps: int
    early_decisions: int


@dataclass
class StepOutcome:
    """What one guided step did, for tests and benchmarks.

    Attributes:
        chosen: ``(n,)`` chosen token id per active row (before finished rows left).
        candidates: ``(n, k)`` candidate token ids, best LLM probability first.
        scores: ``(n, k)`` final scores; rows settled early hold their lower bounds.
        decided_early: ``(n,)`` whether the row skipped the text encoder.
        text_calls: Strings sent to the text encoder in this step.
    """

    chosen: torch.Tensor
    candidates: torch.Tensor
    scores: torch.Tensor
    decided_early: torch.Tensor
    text_calls: int


@dataclass
class DecodingBatch:
    """Mutable state of a batch being decoded; made by :meth:`GuidedDecoder.start`.

    Attributes:
        state: The LM state of the active rows.
        audio: ``(n_active, dim)`` audio embeddings of the active rows.
        active: Original row index of each active row.
        prompt_ids: Token ids of every row's prompt (BOS included).
        generated: Generated tokens of every row.
        stop_reason: Per row, ``None`` while active.
        early_decisions: Per row count of steps settled without the text encoder.
        t: Tokens generated so far by the active rows (they all started together).
    """

    state: LMState
    audio: torch.Tensor
    active: list[int]
    prompt_ids: list[list[int]]
    generated: list[list[int]]
    stop_reason: list[str | None]
    early_decisions: list[int]
    t: int = 0

    @property
    def done(self) -> bool:
        """Whether every row has stopped."""
        return not self.active


class GuidedDecoder:
    """Guided greedy decoding of a batch of prompts (ZerAuCap step 1-8).

    Not thread-safe: one decoder belongs to one thread.

    Args:
        lm: The language model (a :class:`captioner.llm.CausalLM` or a test double).
        embed_text: Text encoder of the audio-language model: strings -> ``(n, dim)``
            L2-normalised embeddings (padding to the longest string in the call).
        config: The decoding settings.
        end_token_ids: LLM ids that end a caption (".", " !", " ?", EOS).

    Raises:
        ValueError: For an empty end-token list or ids outside the LLM vocabulary.
    """

    def __init__(
        self,
        lm: StepLanguageModel,
        embed_text: Callable[[Sequence[str]], torch.Tensor],
        config: CaptionerConfig,
        end_token_ids: Sequence[int],
    ) -> None:
        if not end_token_ids:
            raise ValueError("guided decoding needs at least one end token id")
        bad = [i for i in end_token_ids if not 0 <= int(i) < lm.n_valid_tokens]
        if bad:
            raise ValueError(f"end token ids {bad} are outside the LLM vocabulary")
        if not isinstance(config, CaptionerConfig):
            raise TypeError(f"config must be a CaptionerConfig, got {type(config).__name__}")
        self.lm = lm
        self.embed_text = embed_text
        self.config = config
        self.end_token_ids = sorted({int(i) for i in end_token_ids})
        self._end_cache: dict[torch.device, torch.Tensor] = {}

    def _end_ids(self, device: torch.device) -> torch.Tensor:
        if device not in self._end_cache:
            self._end_cache[device] = torch.tensor(self.end_token_ids, device=device)
        return self._end_cache[device]

    # ---------------------------------------------------------------- whole batches
    def decode(
        self,
        prompts: Sequence[str],
        audio_embeddings: torch.Tensor,
        *,
        cancel: Callable[[], bool] | None = None,
    ) -> list[DecodeResult]:
        """Caption a batch: one prompt and one audio embedding per row.

        Args:
            prompts: The prompts (see :func:`captioner.prompt.build_prompt`).
            audio_embeddings: ``(B, dim)`` L2-normalised audio embeddings.
            cancel: Checked between steps; when it returns True decoding stops with
                :class:`captioner.errors.CaptionCancelledError`.

        Returns:
            One result per prompt, in order.
        """
        batch = self.start(prompts, audio_embeddings)
        with torch.inference_mode():
            while not batch.done:
                if cancel is not None and cancel():
                    raise CaptionCancelledError("captioning cancelled")
                self.step(batch)
        return self.results(batch)

    def start(self, prompts: Sequence[str], audio_embeddings: torch.Tensor) -> DecodingBatch:
        """Tokenise and prefill ``prompts``; returns the batch to pass to :meth:`step`."""
        if len(prompts) == 0:
            raise ValueError("no prompts to decode")
        if audio_embeddings.ndim != 2 or audio_embeddings.shape[0] != len(prompts):
            raise ValueError(
                f"need one audio embedding per prompt: {len(prompts)} prompts, "
                f"embeddings shaped {tuple(audio_embeddings.shape)}"
            )
        prompt_ids = [self.lm.encode_prompt(p) for p in prompts]
        n = len(prompts)
        with torch.inference_mode():
            state = self.lm.start(prompt_ids, with_hidden=self.config.alpha > 0)
        batch = DecodingBatch(
            state=state,
            audio=audio_embeddings.float(),
            active=list(range(n)),
            prompt_ids=prompt_ids,
            generated=[[] for _ in range(n)],
            stop_reason=[None] * n,
            early_decisions=[0] * n,
        )
        too_long = [i for i in range(n) if len(prompt_ids[i]) >= self.config.max_length]
        if too_long:
            log.warning("prompt fills max_length=%d; no tokens generated", self.config.max_length)
            for i in too_long:
                batch.stop_reason[i] = "max-length"
            self._drop_finished(batch)
        return batch

    def results(self, batch: DecodingBatch) -> list[DecodeResult]:
        """Turn a finished batch into results."""
        texts = self.lm.decode_batch(batch.generated)
        return [
            DecodeResult(
                text=" ".join(text.split()),
                token_ids=list(batch.generated[i]),
                stop_reason=batch.stop_reason[i] or "max-length",
                steps=len(batch.generated[i]),
                early_decisions=batch.early_decisions[i],
            )
            for i, text in enumerate(texts)
        ]

    # ---------------------------------------------------------------- one step
    def step(self, batch: DecodingBatch) -> StepOutcome:
        """Run one guided step for every active row, append the choices, retire finished rows."""
        cfg = self.config
        state = batch.state
        t = batch.t
        logits = state.logits
        device = logits.device
        with torch.inference_mode():
            probs = torch.softmax(logits.float(), dim=-1)
            k = min(cfg.k, self.lm.n_valid_tokens)
            # Ids past the tokenizer (OPT pads its embedding matrix) can never be decoded.
            p_top, cand = probs[:, : self.lm.n_valid_tokens].topk(k, dim=-1)
            is_end = torch.isin(cand, self._end_ids(device))
            mult = end_multiplier(is_end, t, cfg.gamma)

            expanded: LMState | None = None
            if cfg.alpha > 0:
                expanded, hidden = self.lm.candidate_states(state, cand)
                penalty = self._degeneration_penalty(state, hidden)
                base = (1.0 - cfg.alpha) * p_top - cfg.alpha * penalty
            else:
                base = p_top

            n = cand.shape[0]
            decided = torch.zeros(n, dtype=torch.bool, device=device)
            lower = guided_scores(base, torch.zeros_like(base), mult, cfg.beta)
            if cfg.early_decision:
                upper = guided_scores(base, torch.ones_like(base), mult, cfg.beta)
                best = lower.argmax(dim=-1)
                rival = upper.scatter(1, best[:, None], float("-inf")).amax(dim=-1)
                decided = lower.gather(1, best[:, None]).squeeze(1) > rival
            scores = lower.clone()
            need = (~decided).nonzero().flatten()
            text_calls = 0
            if need.numel():
                f = self._audio_text_match(batch, cand, need)
                text_calls = int(need.numel()) * k
                scores[need] = guided_scores(base[need], f, mult[need], cfg.beta)
            choice = scores.argmax(dim=-1)
            chosen = cand.gather(1, choice[:, None]).squeeze(1)

        chosen_list = chosen.tolist()
        decided_list = decided.tolist()
        end_set = set(self.end_token_ids)
        for pos, row in enumerate(batch.active):
            batch.generated[row].append(int(chosen_list[pos]))
            if decided_list[pos]:
                batch.early_decisions[row] += 1
            if chosen_list[pos] in end_set:
                batch.stop_reason[row] = "end-token"
            elif len(batch.prompt_ids[row]) + len(batch.generated[row]) >= cfg.max_length:
                batch.stop_reason[row] = "max-length"
        batch.t += 1

        with torch.inference_mode():
            if expanded is not None:
                # The candidates already ran through the LLM: keep each row's chosen one.
                rows = torch.arange(n, device=device) * k + choice
                self.lm.select_rows(expanded, rows)
                batch.state = expanded
            keep = self._drop_finished(batch)
            if batch.active and expanded is None:
                self.lm.advance(batch.state, chosen if keep is None else chosen[keep])
        return StepOutcome(chosen, cand, scores, decided, text_calls)

    def _drop_finished(self, batch: DecodingBatch) -> torch.Tensor | None:
        """Remove stopped rows from the batch; returns the kept positions, or None if all stay."""
        positions = [i for i, row in enumerate(batch.active) if batch.stop_reason[row] is None]
        if len(positions) == len(batch.active):
            return None
        keep = torch.tensor(positions, dtype=torch.long, device=batch.audio.device)
        batch.active = [batch.active[i] for i in positions]
        if positions:
            self.lm.select_rows(batch.state, keep)
            batch.audio = batch.audio[keep]
        return keep

    def _audio_text_match(
        self, batch: DecodingBatch, cand: torch.Tensor, need: torch.Tensor
    ) -> torch.Tensor:
        """``f``: softmax over candidates of ``tau * cos(audio, continuation + candidate)``."""
        window = self.config.score_window
        k = cand.shape[1]
        cand_rows = cand[need].tolist()
        sequences: list[list[int]] = []
        for pos, cands in zip(need.tolist(), cand_rows):
            # Keep the last ``window`` tokens of continuation + candidate: the prefix is cut once.
            tail = batch.generated[batch.active[pos]][-(window - 1) :] if window > 1 else []
            sequences.extend([*tail, c] for c in cands)
        texts = self.lm.decode_batch(sequences)
        emb = self.embed_text(texts).float().to(batch.audio.device)
        emb = emb.view(len(cand_rows), k, -1)
        cos = torch.bmm(emb, batch.audio[need].unsqueeze(-1)).squeeze(-1)
        return torch.softmax(self.config.tau * cos, dim=-1)

    @staticmethod
    def _degeneration_penalty(state: LMState, hidden: torch.Tensor) -> torch.Tensor:
        """MAGIC/SimCTG penalty: max cosine between a candidate and any context token state."""
        if state.context_hidden is None:
            raise RuntimeError("degeneration penalty needs the context's hidden states")
        sims = torch.bmm(hidden, state.context_hidden.transpose(1, 2))
        valid = state.attention_mask.bool()[:, None, :]
        return sims.masked_fill(~valid, float("-inf")).amax(dim=-1)
