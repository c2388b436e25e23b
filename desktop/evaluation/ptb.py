"""PTB tokenisation the coco-caption way: Stanford's tokenizer when present, else a Python one.

coco-caption (and aac-metrics) run Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines
-lowerCase`` over every sentence, then drop punctuation tokens. That needs Java and the CoreNLP
jar, which ``aac-metrics-download`` fetches from the internet. Offline without the jar we fall
back to :func:`python_ptb_tokenize`, a pure-Python approximation written for captions: it
lower-cases, splits off punctuation and the English clitics (``n't 's 're 've 'll 'd 'm``),
keeps hyphenated words and decimal numbers whole, and drops the same punctuation tokens. It agrees
with Stanford's tokenizer on ordinary caption text; rare constructs (abbreviations with periods,
brackets, URLs) may differ. Reports always name which tokenizer ran.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "PTB_PUNCTUATIONS",
    "Tokenizer",
    "choose_tokenizer",
    "python_ptb_tokenize",
    "stanford_jar_path",
]

#: Tokens coco-caption removes after PTB tokenisation (its list, plus the bracket/quote
#: characters our Python tokenizer leaves as is where Stanford would emit -LRB- or ``).
PTB_PUNCTUATIONS = frozenset(
    {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-",
     "--", "...", ";", "-lrb-", "-rrb-", "-lcb-", "-rcb-", "(", ")", "{", "}", "[", "]", '"'}
)  # fmt: skip

_CLITIC = re.compile(r"(?<=\w)(n't|'s|'re|'ve|'ll|'d|'m)\b")
_CANNOT = re.compile(r"\bcannot\b")
_TOKEN = re.compile(
    r"""
    \d+(?:[.,:]\d+)+             # 3.5, 1,000, 10:30
  | n't | '(?:s|re|ve|ll|d|m)\b  # clitics split off above
  | \w+(?:[-'/&]\w+)*            # words, incl. hyphenated and and/or
  | \.\.\. | -- | ``  | ''       # multi-character punctuation
  | \S                           # any other single symbol
    """,
    re.VERBOSE,
)


def python_ptb_tokenize(sentence: str) -> list[str]:
    """Tokenise one sentence PTB-style, lower-cased, punctuation removed.

    >>> python_ptb_tokenize("A dog's barking, and a man doesn't speak.")
    ['a', 'dog', "'s", 'barking', 'and', 'a', 'man', 'does', "n't", 'speak']
    """
    text = sentence.lower().replace("\u2019", "'")
    text = _CANNOT.sub("can not", text)
    text = _CLITIC.sub(r" \1", text)
    return [t for t in _TOKEN.findall(text) if t not in PTB_PUNCTUATIONS]


def stanford_jar_path(cache_dir: Path) -> Path:
    """Where aac-metrics keeps the Stanford CoreNLP 3.4.1 jar under its cache folder."""
    return cache_dir / "aac-metrics" / "stanford_nlp" / "stanford-corenlp-3.4.1.jar"


@dataclass(frozen=True)
class Tokenizer:
    """A chosen tokenizer and the label reports show for it.

    Attributes:
        label: ``"stanford-ptb"`` or ``"python-ptb-fallback"``.
        detail: Why this one was chosen (the missing jar, the Java found).
        jar: The CoreNLP jar, for the Stanford tokenizer.
        java: The Java executable, for the Stanford tokenizer.
    """

    label: str
    detail: str
    jar: Path | None = None
    java: str | None = None

    def tokenize(self, sentences: Sequence[str]) -> list[str]:
        """Tokenise sentences; returns each as its tokens joined by single spaces."""
        if self.jar is not None and self.java is not None:
            return _stanford_tokenize(sentences, self.jar, self.java)
        return [" ".join(python_ptb_tokenize(s)) for s in sentences]


def choose_tokenizer(cache_dir: Path, java: str | None = None) -> Tokenizer:
    """Use Stanford's PTB tokenizer when Java and its jar are present, else the Python one."""
    jar = stanford_jar_path(cache_dir)
    java_exe = shutil.which(java or "java")
    if java_exe is None:
        reason = f"Java not found ({java or 'java'} is not on PATH)"
    elif not jar.is_file():
        reason = f"Stanford CoreNLP jar not found at {jar} (aac-metrics-download needs internet)"
    else:
        return Tokenizer(
            "stanford-ptb", f"Stanford CoreNLP 3.4.1 PTBTokenizer ({jar})", jar, java_exe
        )
    return Tokenizer(
        "python-ptb-fallback",
        f"pure-Python PTB-style tokenizer, not Stanford's: {reason}; scores may differ "
        "slightly from coco-caption",
    )


def _stanford_tokenize(sentences: Sequence[str], jar: Path, java: str) -> list[str]:
    # The same command coco-caption runs; one sentence per line, so newlines must go.
    lines = [" ".join(s.split()) for s in sentences]
    if not lines:
        return []
    cmd = [java, "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines",
           "-lowerCase"]  # fmt: skip
    proc = subprocess.run(
        cmd, input="\n".join(lines).encode(), capture_output=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"Stanford PTBTokenizer failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()[:300]}"
        )
    out = proc.stdout.decode().split("\n")
    if len(out) == len(lines) + 1 and out[-1] == "":
        out.pop()  # the final newline, not an empty sentence
    if len(out) != len(lines):
        raise RuntimeError(f"Stanford PTBTokenizer returned {len(out)} lines for {len(lines)}")
    return [" ".join(t for t in line.split(" ") if t and t not in PTB_PUNCTUATIONS) for line in out]
