"""Fixtures: a tiny BERT tokenizer and synthetic WavCaps checkpoints (official key names)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

# tests/ is on sys.path, where tests/captioner (no __init__) would shadow the real package as a
# namespace portion; a regular package later on the path wins, so put the repository root there.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from wavcaps.synthetic import (  # noqa: E402
    build_bert_tokenizer,
    official_state,
    scaled,
    write_checkpoint,
)

_EXTRA_WORDS = [
    "a dog barks and a man speaks",
    "rain falls on a roof while thunder rumbles in the distance",
    "birds chirp in the background as wind blows",
    "a car engine idles then accelerates and passes by",
]


@pytest.fixture(scope="session")
def bert_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lower-casing WordPiece tokenizer folder trained on the AudioSet keywords."""
    from captioner.vocabulary import load_vocabulary

    words = list(load_vocabulary(None).keywords) + _EXTRA_WORDS * 5
    return build_bert_tokenizer(tmp_path_factory.mktemp("bert-tokenizer"), words)


@pytest.fixture(scope="session")
def tokenizer_size(bert_tokenizer: Path) -> int:
    from transformers import AutoTokenizer

    return len(AutoTokenizer.from_pretrained(str(bert_tokenizer)))


@pytest.fixture(scope="session")
def scaled_state(tokenizer_size: int) -> dict[str, torch.Tensor]:
    """A small checkpoint state dict: official names, smaller widths, same front end."""
    return official_state(scaled(tokenizer_size), seed=3)


@pytest.fixture(scope="session")
def scaled_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, scaled_state: dict[str, torch.Tensor]
) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "HTSAT-BERT-small.pt", scaled_state)


@pytest.fixture(autouse=True)
def _no_cached_bert(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave the same whether or not this computer's HF cache holds bert-base-uncased."""
    import captioner.models
    from captioner.errors import ModelNotFoundError

    real = captioner.models.resolve

    def resolve(ref: str, **kwargs: object) -> Path:
        if ref == "bert-base-uncased":
            raise ModelNotFoundError(f"model {ref} is not on this computer")
        return real(ref, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(captioner.models, "resolve", resolve)
