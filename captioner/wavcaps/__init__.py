"""WavCaps HTSAT-BERT, the paper's audio-language model, imported into Earmark.

WavCaps (Mei et al., 2023) releases its retrieval model as pickled PyTorch checkpoints of its own
``ASE`` class. :func:`import_checkpoint` reads one safely, maps every tensor onto modules built
from transformers parts (``ClapAudioEncoder`` is the same HTSAT; ``BertModel`` is the text side)
and writes a safetensors folder; :func:`load_wavcaps` loads that folder as an
:class:`~captioner.types.AudioTextModel` (32 kHz, 10 s windows, 1024-d unit-norm embeddings).
"""

from __future__ import annotations

from captioner.wavcaps.backend import WavCapsBackend, load_wavcaps
from captioner.wavcaps.config import WavCapsConfig
from captioner.wavcaps.convert import MARKER, import_checkpoint
from captioner.wavcaps.frontend import LogMelFrontEnd, mel_filterbank
from captioner.wavcaps.mapping import ConversionReport, WavCapsImportError, convert_state_dict
from captioner.wavcaps.model import WavCapsModel

__all__ = [
    "MARKER",
    "ConversionReport",
    "LogMelFrontEnd",
    "WavCapsBackend",
    "WavCapsConfig",
    "WavCapsImportError",
    "WavCapsModel",
    "convert_state_dict",
    "import_checkpoint",
    "load_wavcaps",
    "mel_filterbank",
]
