"""Hand-made language model and text encoder with planted logits and embeddings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from captioner.llm import LMState

# Token strings of the fake LLM; the id is the index.
VOCAB = [
    "<pad>",  # 0
    "</s>",  # 1: BOS and EOS, like OPT
    ".",  # 2
    " !",  # 3
    " ?",  # 4
    " a",  # 5
    " dog",  # 6
    " cat",  # 7
    " barks",  # 8
    " meows",  # 9
    " and",  # 10
    " rain",  # 11
    "Objects:",  # 12
    " This",  # 13
    " is",  # 14
    " sound",  # 15
    " of",  # 16
    "<s>",  # 17: a special token that writes no text (OPT's id 0)
    "<unk>",  # 18
]
ID = {tok: i for i, tok in enumerate(VOCAB)}
END_IDS = [ID["."], ID[" !"], ID[" ?"], ID["</s>"]]
SPECIAL_IDS = [ID["<pad>"], ID["</s>"], ID["<s>"], ID["<unk>"]]

#: logits_fn(row, t, generated_so_far) -> logits over VOCAB
LogitsFn = Callable[[int, int, list[int]], torch.Tensor]


class FakeLM:
    """A StepLanguageModel whose next-token logits come from a planted function."""

    def __init__(self, logits_fn: LogitsFn, hidden_dim: int = 3) -> None:
        self.logits_fn = logits_fn
        self.n_valid_tokens = len(VOCAB)
        self.bos_token_id: int | None = ID["</s>"]
        self.hidden_dim = hidden_dim
        self.prefills = 0
        self.advances = 0
        self.candidate_forwards = 0

    def encode_prompt(self, prompt: str) -> list[int]:
        return [ID["</s>"]] + [ID[" This"]] * max(1, len(prompt.split()))

    def decode_batch(
        self, sequences: Sequence[Sequence[int]], *, skip_special_tokens: bool = True
    ) -> list[str]:
        skip = set(SPECIAL_IDS) if skip_special_tokens else set()
        return ["".join(VOCAB[i] for i in seq if i not in skip) for seq in sequences]

    def special_token_ids(self) -> list[int]:
        return list(SPECIAL_IDS)

    def _state(self, rows: list[int], hist: list[list[int]]) -> LMState:
        logits = torch.stack([self.logits_fn(r, len(h), list(h)) for r, h in zip(rows, hist)])
        n = len(rows)
        return LMState(
            cache={"rows": rows, "hist": hist},
            attention_mask=torch.ones((n, 1), dtype=torch.long),
            padded=False,
            next_position=torch.zeros(n, dtype=torch.long),
            logits=logits.float(),
            # Context = one token whose hidden state is e0: candidates with id % dim == 0 repeat
            # it (penalty 1), all others are orthogonal to it (penalty 0).
            context_hidden=torch.nn.functional.one_hot(
                torch.zeros(n, 1, dtype=torch.long), self.hidden_dim
            ).float(),
        )

    def start(self, prompts: Sequence[Sequence[int]], *, with_hidden: bool = False) -> LMState:
        self.prefills += 1
        return self._state(list(range(len(prompts))), [[] for _ in prompts])

    def advance(self, state: LMState, tokens: torch.Tensor, *, with_hidden: bool = False) -> None:
        self.advances += 1
        rows = state.cache["rows"]
        hist = [[*h, int(tok)] for h, tok in zip(state.cache["hist"], tokens.tolist())]
        new = self._state(rows, hist)
        # The mask stays one column wide: it matches the one-token planted context below.
        state.cache, state.logits = new.cache, new.logits

    def candidate_states(
        self, state: LMState, candidates: torch.Tensor
    ) -> tuple[LMState, torch.Tensor]:
        self.candidate_forwards += 1
        b, k = candidates.shape
        rows = [r for r in state.cache["rows"] for _ in range(k)]
        hist = [
            [*h, int(c)]
            for h, cands in zip(state.cache["hist"], candidates.tolist())
            for c in cands
        ]
        expanded = self._state(rows, hist)
        # Hidden state of a candidate: a one-hot on (id mod dim).
        hidden = torch.nn.functional.one_hot(candidates % self.hidden_dim, self.hidden_dim).float()
        expanded.attention_mask = torch.ones((b * k, 1), dtype=torch.long)
        return expanded, hidden

    def select_rows(self, state: LMState, rows: torch.Tensor) -> None:
        idx = rows.tolist()
        state.cache = {
            "rows": [state.cache["rows"][i] for i in idx],
            "hist": [state.cache["hist"][i] for i in idx],
        }
        state.logits = state.logits[rows]
        state.attention_mask = state.attention_mask[rows]
        state.next_position = state.next_position[rows]
        if state.context_hidden is not None:
            state.context_hidden = state.context_hidden[rows]


class FakeTextEncoder:
    """Embeds a string as the sum of planted word vectors (unit-normalised); records calls."""

    def __init__(self, vectors: dict[str, torch.Tensor], dim: int) -> None:
        self.vectors = vectors
        self.dim = dim
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        self.calls.append(list(texts))
        out = torch.full((len(texts), self.dim), 1e-3)
        for i, text in enumerate(texts):
            for word, vec in self.vectors.items():
                if word in text:
                    out[i] += vec
        return torch.nn.functional.normalize(out, dim=-1)


def probs_to_logits(probs: dict[str, float]) -> torch.Tensor:
    """Logits whose softmax gives exactly ``probs`` (the rest shares what is left)."""
    rest = 1.0 - sum(probs.values())
    others = len(VOCAB) - len(probs)
    p = torch.full((len(VOCAB),), rest / others, dtype=torch.float64)
    for tok, value in probs.items():
        p[ID[tok]] = value
    return p.log().float()
