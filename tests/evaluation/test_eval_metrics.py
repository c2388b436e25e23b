"""Metrics: sanity, agreement with sacrebleu, PTB tokenisation, unavailable metrics explained."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest
from _eval_helpers import REFERENCES

from desktop.evaluation.metrics import (
    METRIC_NAMES,
    compute_metrics,
    is_unavailable,
    java_major_version,
)
from desktop.evaluation.ptb import choose_tokenizer, python_ptb_tokenize, stanford_jar_path

# Ten clips, five references each: the four of the fixtures plus six more.
MORE = [
    ["a woman sings softly", "a woman is singing", "singing by a woman", "a lady sings a song", "soft female singing"],
    ["a baby cries loudly", "an infant is crying", "a baby cries and screams", "crying baby", "a small child cries"],
    ["a bell rings several times", "a church bell rings", "bells ringing", "a bell is ringing loudly", "ringing of a bell"],
    ["people clap and cheer", "a crowd applauds", "applause from a crowd", "people cheering and clapping", "a crowd cheers"],
    ["a phone rings", "a telephone is ringing", "the phone rings twice", "ringing of a telephone", "a cell phone rings"],
    ["footsteps on a wooden floor", "someone walks on wood", "a person walks", "footsteps echo", "walking on a floor"],
]  # fmt: skip
CORPUS = [list(r) for r in REFERENCES] + MORE


def _numbers(scores: dict[str, float | str]) -> dict[str, float]:
    return {k: float(v) for k, v in scores.items() if not is_unavailable(v)}


def test_reference_as_prediction_beats_shuffled(tmp_path: Path) -> None:
    good = compute_metrics([refs[0] for refs in CORPUS], CORPUS, cache_dir=tmp_path)
    # Each clip gets another clip's caption (rotate by one): same words, wrong clips.
    shuffled = [CORPUS[(i + 1) % len(CORPUS)][0] for i in range(len(CORPUS))]
    bad = compute_metrics(shuffled, CORPUS, cache_dir=tmp_path)
    g, b = _numbers(good.scores), _numbers(bad.scores)
    assert set(g) >= {"BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "ROUGE_L", "CIDEr-D"}
    for name in g:
        assert g[name] > b[name] + 0.3, (name, g[name], b[name])
    # A caption that is one of its references matches fully: BLEU-1 and ROUGE-L are 1.
    assert g["BLEU_1"] == pytest.approx(1.0) and g["ROUGE_L"] == pytest.approx(1.0)
    assert all(0.0 <= b[name] <= 1.0 for name in b)


def test_bleu_matches_sacrebleu(tmp_path: Path) -> None:
    sacrebleu = pytest.importorskip("sacrebleu")
    candidates = [
        "a dog barks while a man is talking",
        "heavy rain falls on a roof",
        "a car engine revs and idles",
        "birds sing in the wind",
    ]
    refs = [[" ".join(python_ptb_tokenize(r)) for r in group] for group in REFERENCES]
    ours = compute_metrics(candidates, refs, cache_dir=tmp_path).scores
    streams = [[group[i] for group in refs] for i in range(5)]
    for n in range(1, 5):
        metric = sacrebleu.metrics.BLEU(
            max_ngram_order=n, tokenize="none", smooth_method="none", effective_order=False
        )
        theirs = metric.corpus_score(candidates, streams).score / 100
        assert ours[f"BLEU_{n}"] == pytest.approx(theirs, abs=1e-6), n
    assert 0.1 < float(ours["BLEU_1"]) < 1.0  # a real, non-degenerate example


def test_bleu_hand_computed(tmp_path: Path) -> None:
    # Clip 1: "the cat sat", closest reference "the cat sat down" (4 words); clip 2 matches its
    # reference exactly. Every unigram and bigram matches, so BLEU-1 = BLEU-2 = the corpus
    # brevity penalty exp(1 - 6/5) (5 candidate words, 6 reference words).
    scores = compute_metrics(
        ["the cat sat", "a dog"],
        [["the cat sat down", "a cat sat on the mat"], ["a dog"]],
        cache_dir=tmp_path,
    ).scores
    bp = math.exp(1 - 6 / 5)
    assert scores["BLEU_1"] == pytest.approx(bp, rel=1e-6)
    assert scores["BLEU_2"] == pytest.approx(bp, rel=1e-6)
    assert scores["BLEU_3"] == pytest.approx(bp, rel=1e-6)  # 1 trigram, matched; "a dog" has none


def test_unavailable_metrics_say_why_and_nothing_fails(tmp_path: Path) -> None:
    result = compute_metrics(
        ["a dog barks."], [["A dog barks!", "dog barking"]], cache_dir=tmp_path
    )
    assert list(result.scores) == list(METRIC_NAMES)
    for name in ("METEOR", "SPICE", "SPIDEr", "CIDEr-D"):
        assert is_unavailable(result.scores[name]), name
    assert "jar not found" in str(result.scores["METEOR"])
    assert "at least 2 clips" in str(result.scores["CIDEr-D"])
    assert "needs CIDEr-D and SPICE" in str(result.scores["SPIDEr"])
    assert result.scores["BLEU_1"] == pytest.approx(1.0)
    assert result.tokenizer == "python-ptb-fallback"
    assert "not Stanford" in result.tokenizer_detail


def test_bad_inputs_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reference groups"):
        compute_metrics(["a"], [], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="nothing to score"):
        compute_metrics([], [], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="at least one reference"):
        compute_metrics(["a", "b"], [["a"], []], cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("sentence", "tokens"),
    [
        ("A dog's barking, and a man doesn't speak.", "a dog 's barking and a man does n't speak"),
        ('Rain (heavy) falls -- then "stops"!', "rain heavy falls then stops"),
        ("It cannot be 3.5 m/s; high-pitched beeps...", "it can not be 3.5 m/s high-pitched beeps"),
        ("The dogs' owner whistles.", "the dogs owner whistles"),
        ("Birds chirp. A car passes.", "birds chirp a car passes"),
    ],
)
def test_python_ptb_tokenizer(sentence: str, tokens: str) -> None:
    assert " ".join(python_ptb_tokenize(sentence)) == tokens


def _fake_java(folder: Path, body: str) -> str:
    script = folder / "java"
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as a stand-in for java")
def test_stanford_tokenizer_is_used_when_its_jar_is_there(tmp_path: Path) -> None:
    jar = stanford_jar_path(tmp_path)
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"")
    # Stands in for PTBTokenizer -lowerCase: lower-case and split off periods.
    java = _fake_java(tmp_path, "tr 'A-Z' 'a-z' | sed 's/\\./ ./g'")
    tok = choose_tokenizer(tmp_path, java)
    assert tok.label == "stanford-ptb"
    assert tok.tokenize(["A Dog barks.", "", "Rain."]) == ["a dog barks", "", "rain"]


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as a stand-in for java")
def test_broken_java_tools_become_unavailable(tmp_path: Path) -> None:
    for rel in ("stanford_nlp/stanford-corenlp-3.4.1.jar", "meteor/meteor-1.5.jar"):
        path = tmp_path / "aac-metrics" / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
    java = _fake_java(tmp_path, "echo broken >&2; exit 3")
    result = compute_metrics(
        ["a dog barks", "rain falls"],
        [["a dog barks"], ["rain falls"]],
        cache_dir=tmp_path,
        java=java,
    )
    assert is_unavailable(result.scores["METEOR"])
    assert result.tokenizer == "python-ptb-fallback"  # Stanford failed: fell back, said so
    assert "failed" in result.tokenizer_detail
    assert result.scores["BLEU_1"] == pytest.approx(1.0)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as a stand-in for java")
def test_unsupported_java_version_is_named(tmp_path: Path) -> None:
    for rel in ("meteor/meteor-1.5.jar", "spice/spice-1.0.jar"):
        path = tmp_path / "aac-metrics" / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
    java = _fake_java(tmp_path, "echo 'openjdk version \"17.0.15\" 2025-04-15' >&2")
    scores = compute_metrics(
        ["a dog barks", "rain falls"], [["a dog"], ["rain"]], cache_dir=tmp_path, java=java
    ).scores
    for name in ("METEOR", "SPICE"):
        assert "only with Java 8-13, found Java 17" in str(scores[name]), scores[name]
    assert java_major_version(_fake_java(tmp_path, "echo 'java version \"1.8.0_392\"' >&2")) == 8
