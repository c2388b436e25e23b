"""Keyword vocabularies, their embedding cache, and model resolution/download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from captioner import models
from captioner.errors import CaptionerError, ModelNotFoundError
from captioner.vocabulary import cached_keyword_embeddings, load_vocabulary


def test_audioset_vocabulary_has_614_keywords() -> None:
    vocab = load_vocabulary(None)
    assert len(vocab.keywords) == 614
    assert len(set(vocab.keywords)) == 611
    assert vocab.keywords[:4] == ("Speech", "Male speech", "man speaking", "Female speech")
    assert all(k == k.strip() and k for k in vocab.keywords)


def test_user_vocabularies(tmp_path: Path) -> None:
    txt = tmp_path / "kw.txt"
    txt.write_text("# my words\ndog\n\n  door slam \n", encoding="utf-8")
    assert load_vocabulary(txt).keywords == ("dog", "door slam")
    csv = tmp_path / "kw.csv"
    csv.write_text("keyword,notes\nrain,x\nthunder,y\n", encoding="utf-8")
    assert load_vocabulary(csv).keywords == ("rain", "thunder")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no keywords"):
        load_vocabulary(empty)
    with pytest.raises(ValueError, match="cannot read"):
        load_vocabulary(tmp_path / "missing.txt")


def test_keyword_cache_hits_and_invalidates(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], np.float32)

    vocab = load_vocabulary(None)
    a = cached_keyword_embeddings(vocab, "model-A", embed, tmp_path)
    n_calls = len(calls)
    assert a.shape == (614, 2) and n_calls > 0
    b = cached_keyword_embeddings(vocab, "model-A", embed, tmp_path)
    assert len(calls) == n_calls and np.array_equal(a, b)  # served from disk
    cached_keyword_embeddings(vocab, "model-B", embed, tmp_path)  # other weights: recompute
    assert len(calls) > n_calls
    n_calls = len(calls)
    other = tmp_path / "v.txt"
    other.write_text("dog\ncat\n", encoding="utf-8")
    out = cached_keyword_embeddings(load_vocabulary(other), "model-A", embed, tmp_path)
    assert out.shape == (2, 2) and len(calls) == n_calls + 1


def test_resolve_local_and_missing(tmp_path: Path) -> None:
    assert models.resolve(str(tmp_path)) == tmp_path
    with pytest.raises(ModelNotFoundError) as err:
        models.resolve("nobody/no-such-model", cache_dir=tmp_path)
    assert "earmark models download nobody/no-such-model" in str(err.value)
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        models.resolve(str(tmp_path / "nope" / "deeper"))
    st = models.status("nobody/no-such-model", cache_dir=tmp_path)
    assert not st.present and st.path is None
    (tmp_path / "f.bin").write_bytes(b"x" * 10)
    assert models.status(str(tmp_path)).size_bytes == 10


def test_models_dir_and_paper_default_clap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EARMARK_HOME", str(tmp_path))
    assert models.models_dir() == tmp_path / "models"
    assert models.default_clap_for_preset("paper") == models.DEFAULT_CLAP
    (tmp_path / "models" / "wavcaps-htsat-bert").mkdir(parents=True)
    assert models.default_clap_for_preset("paper") == str(
        tmp_path / "models" / "wavcaps-htsat-bert"
    )
    assert models.default_clap_for_preset("default") == models.DEFAULT_CLAP


class _Sibling:
    def __init__(self, name: str, size: int) -> None:
        self.rfilename, self.size = name, size


def test_download_filters_files_reports_progress_and_cancels(tmp_path, monkeypatch) -> None:
    import huggingface_hub

    files = {
        "config.json": 10,
        "model.safetensors": 1000,
        "pytorch_model.bin": 1000,
        "tf_model.h5": 1000,
        "tokenizer.json": 20,
        "merges.txt": 5,
    }

    class FakeApi:
        def model_info(self, ref, files_metadata=False):
            return type("Info", (), {"siblings": [_Sibling(n, s) for n, s in files.items()]})()

    fetched: list[str] = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", lambda ref, name, cache_dir=None: fetched.append(name)
    )
    monkeypatch.setattr(models, "resolve", lambda ref, cache_dir=None: tmp_path)
    seen: list[tuple[int, int]] = []
    assert models.download("org/m", progress=lambda d, t: seen.append((d, t))) == tmp_path
    assert sorted(fetched) == ["config.json", "merges.txt", "model.safetensors", "tokenizer.json"]
    assert seen[0] == (0, 1035) and seen[-1] == (1035, 1035)
    fetched.clear()
    with pytest.raises(CaptionerError, match="cancelled"):
        models.download("org/m", cancel=lambda: len(fetched) >= 2)
    assert len(fetched) == 2
