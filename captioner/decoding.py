"""ZerAuCap guided decoding: the LLM writes, the audio-language model steers.

One step for each row of a batch (``t`` = tokens generated so far):

1. ``p = softmax(logits)`` over the tokenizer's vocabulary (OPT's padded embedding rows are no
   words and take no part); candidates = the top ``k`` (p is not renormalised over them).
   Special tokens other than the end tokens (``<s>``, ``<pad>``, ``<unk>``) are never
   candidates: they write no text, so choosing one is a free step that can win again and again.
2. For each candidate, the text "continuation so far + candidate" (prompt excluded), cut to its
   last ``score_window`` LLM tokens and decoded with special tokens written out (as the released
   code does: ``</s>`` is scored as ``...</s>``, not as a caption that already stopped); all
   rows' ``k`` strings go through the text encoder in one call.
3. ``f = softmax(tau * cos(audio, text))`` over the ``k`` candidates.
4. ``score = m * ((1 - alpha) * p - alpha * penalty + beta * f)`` with ``m = gamma * t`` for end
   tokens and 1 otherwise.
5. Greedy argmax; a row stops after an end token (kept) or when BOS + prompt + continuation reach
   ``max_length`` tokens.

With ``config.released_code`` the step is the released code's instead: special tokens may be
candidates, the texts get transformers 4's "clean up tokenization spaces", the multiplier ``m``
of step 4 is applied at the candidate's position in the *sorted* scores (so it often hits the
wrong candidate), and the caption is cut out of the whole decoded text as the released code does.

Speed-ups that never change the result: only the chosen token is fed to the LLM when
``alpha == 0`` (KV cache); rows are batched (left padding) and finished rows leave the batch; and
the *early decision*: since ``f`` lies in [0, 1], a row whose best lower bound ``m * base`` beats
every other candidate's upper bound ``m * (base + beta)`` has a certain winner, and its text-encoder
work is skipped (not under the released rule, whose ``m`` depends on ``f``).
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
from captioner.prompt import PROMPT_TAIL
from captioner.text import released_cleanup

log = logging.getLogger(__name__)

__all__ = [
    "DecodeResult",
    "DecodingBatch",
    "GuidedDecoder",
    "StepLanguageModel",
    "StepOutcome",
    "end_multiplier",
    "guided_scores",
    "released_end_multiplier",
]


class StepLanguageModel(Protocol):
    """What the decoder needs from a language model (:class:`captioner.llm.CausalLM`)."""

    n_valid_tokens: int
    bos_token_id: int | None

    def encode_prompt(self, prompt: str) -> list[int]:
        """BOS + the prompt's token ids."""
        ...

    def decode_batch(
        self, sequences: Sequence[Sequence[int]], *, skip_special_tokens: bool = True
    ) -> list[str]:
        """Decode token lists to strings, special tokens dropped or written out."""
        ...

    def special_token_ids(self) -> list[int]:
        """Ids of every special token of the tokenizer."""
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


def released_end_multiplier(
    scores: torch.Tensor, is_end: torch.Tensor, t: int, gamma: float
) -> torch.Tensor:
    """The released code's end-token multiplier, applied at the mismatched index.

    The released step sorts the candidates by score, walks the sorted tokens, and for the one at
    sorted position ``j`` multiplies ``scores[j]``, the score at LLM position ``j``: so the
    multiplier lands on whichever candidate holds that LLM position. ``gamma * t`` is computed
    in float32 as there (``end_penalty`` is a float32 tensor).

    Args:
        scores: ``(n, k)`` unmultiplied scores in LLM (candidate) order.
        is_end: ``(n, k)`` which candidates are end tokens, in the same order.
        t: Tokens generated so far.
        gamma: The rule's rate.

    Returns:
        ``(n, k)`` multipliers in LLM order.
    """
    order = scores.topk(scores.shape[1], dim=-1).indices
    end_in_sorted_order = is_end.gather(1, order)
    rate = torch.tensor(gamma, dtype=torch.float32, device=scores.device) * t
    ones = torch.ones(scores.shape, dtype=torch.float32, device=scores.device)
    return torch.where(end_in_sorted_order, rate.expand_as(ones), ones)


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

    Attributes:
        banned_ids: Special tokens that are never candidates (empty under ``released_code``).

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
        self.released = bool(config.released_code)
        specials = set() if self.released else set(lm.special_token_ids())
        self.banned_ids = sorted(specials - set(self.end_token_ids))
        if len(self.banned_ids) >= lm.n_valid_tokens:
            raise ValueError("the LLM vocabulary holds nothing but special tokens")
        self._id_cache: dict[tuple[str, torch.device], torch.Tensor] = {}

    def _ids(self, which: str, device: torch.device) -> torch.Tensor:
        key = (which, device)
        if key not in self._id_cache:
            ids = self.end_token_ids if which == "end" else self.banned_ids
            self._id_cache[key] = torch.tensor(ids, dtype=torch.long, device=device)
        return self._id_cache[key]

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
        if self.released:
            texts = self._released_texts(batch)
        else:
            texts = self.lm.decode_batch(batch.generated, skip_special_tokens=True)
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

    def _released_texts(self, batch: DecodingBatch) -> list[str]:
        """The released code's caption: the whole sequence decoded, then cut after the prompt.

        Its ``parse_output_token_list`` drops a leading BOS, stops at the first BOS/EOS id,
        decodes with special tokens written out (and transformers 4's space clean-up), strips
        and collapses whitespace; the caption is what follows the last "This is a sound of ".
        """
        bos = self.lm.bos_token_id
        sequences = []
        for prompt, generated in zip(batch.prompt_ids, batch.generated):
            ids = [*prompt, *generated]
            if ids and bos is not None and ids[0] == bos:
                ids = ids[1:]
            if bos is not None and bos in ids:
                ids = ids[: ids.index(bos)]
            sequences.append(ids)
        texts = self.lm.decode_batch(sequences, skip_special_tokens=False)
        out = []
        for text in texts:
            full = " ".join(released_cleanup(text).strip().split()).strip()
            out.append(full.split(PROMPT_TAIL)[-1])
        return out

    # ---------------------------------------------------------------- one step
    def step(self, batch: DecodingBatch) -> StepOutcome:
        """Run one guided step for every active row, append the choices, retire finished rows."""
        cfg = self.config
        state = batch.state
        t = batch.t
        logits = state.logits
        device = logits.device
        with torch.inference_mode():
            # Rows past the tokenizer (OPT pads its embedding matrix) are no words: they take
            # no part in p, as in the released code, which resizes the embeddings first.
            valid = logits[:, : self.lm.n_valid_tokens].float()
            probs = torch.softmax(valid, dim=-1)
            ranked = valid
            if self.banned_ids:
                ranked = valid.index_fill(1, self._ids("banned", device), float("-inf"))
            k = min(cfg.k, self.lm.n_valid_tokens - len(self.banned_ids))
            cand = ranked.topk(k, dim=-1).indices
            p_top = probs.gather(1, cand)
            is_end = torch.isin(cand, self._ids("end", device))
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
            if cfg.early_decision and not self.released:
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
                if self.released:
                    plain = guided_scores(base[need], f, torch.ones_like(f), cfg.beta)
                    released = released_end_multiplier(plain, is_end[need], t, cfg.gamma)
                    scores[need] = plain * released
                else:
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
        texts = self.lm.decode_batch(sequences, skip_special_tokens=False)
        if self.released:
            texts = [released_cleanup(text) for text in texts]
        emb = self.embed_text(texts).float().to(batch.audio.device)
        emb = emb.view(len(cand_rows), k, -1)
        audio = batch.audio[need]
        if self.released:
            # The released code's exact operation (it re-normalises both sides).
            cos = torch.cosine_similarity(audio.unsqueeze(1), emb, dim=-1)
        else:
            cos = torch.bmm(emb, audio.unsqueeze(-1)).squeeze(-1)
        return torch.softmax(self.config.tau * cos, dim=-1)

    @staticmethod
    def _degeneration_penalty(state: LMState, hidden: torch.Tensor) -> torch.Tensor:
        """MAGIC/SimCTG penalty: max cosine between a candidate and any context token state."""
        if state.context_hidden is None:
            raise RuntimeError("degeneration penalty needs the context's hidden states")
        sims = torch.bmm(hidden, state.context_hidden.transpose(1, 2))
        valid = state.attention_mask.bool()[:, None, :]
        return sims.masked_fill(~valid, float("-inf")).amax(dim=-1)
