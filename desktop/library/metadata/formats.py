"""Format names as users say them ("WAV", "BWF", "Ogg Vorbis", "M4A/AAC"), from what
libsndfile or FFmpeg report.

libsndfile calls a 24-bit WAV ``WAVEX`` and an Opus file ``OGG``; FFmpeg calls an M4A
``mov,mp4,m4a,3gp,3g2,mj2``. Neither is what a sound library tool shows in its Format column.
"""

from __future__ import annotations

__all__ = ["format_label"]

# FFmpeg codec -> label when the container does not decide it.
_CODECS = {
    "aac": "AAC",
    "aac_latm": "AAC",
    "alac": "ALAC",
    "mp3": "MP3",
    "mp3float": "MP3",
    "mp2": "MP2",
    "mp2float": "MP2",
    "mp1": "MP1",
    "vorbis": "Vorbis",
    "opus": "Opus",
    "flac": "FLAC",
    "ac3": "AC3",
    "eac3": "E-AC3",
    "truehd": "TrueHD",
    "dts": "DTS",
    "wavpack": "WavPack",
    "wmav1": "WMA",
    "wmav2": "WMA",
    "wmapro": "WMA Pro",
    "wmalossless": "WMA Lossless",
    "wmavoice": "WMA Voice",
    "ape": "Monkey's Audio",
    "tta": "TTA",
    "amr_nb": "AMR",
    "amr_wb": "AMR-WB",
    "speex": "Speex",
    "gsm": "GSM",
    "gsm_ms": "GSM",
    "adpcm_ima_wav": "IMA ADPCM",
    "adpcm_ms": "MS ADPCM",
    "pcm_mulaw": "u-law",
    "pcm_alaw": "A-law",
    "dsd_lsbf": "DSD",
    "dsd_msbf": "DSD",
    "dsd_lsbf_planar": "DSD",
    "dsd_msbf_planar": "DSD",
    "musepack7": "Musepack",
    "musepack8": "Musepack",
}

# libsndfile major formats (``soundfile.info().format``).
_SNDFILE = {
    "WAV": "WAV",
    "WAVEX": "WAV",
    "RF64": "RF64",
    "W64": "Wave64",
    "AIFF": "AIFF",
    "CAF": "CAF",
    "FLAC": "FLAC",
    "MPEG": "MP3",
    "AU": "AU",
    "NIST": "NIST Sphere",
    "VOC": "VOC",
    "IRCAM": "IRCAM",
    "PAF": "PAF",
    "SVX": "8SVX",
    "MAT4": "MAT4",
    "MAT5": "MAT5",
    "PVF": "PVF",
    "XI": "XI",
    "HTK": "HTK",
    "SDS": "SDS",
    "AVR": "AVR",
    "WVE": "WVE",
    "MPC2K": "MPC 2000",
    "RAW": "Raw PCM",
}
_OGG_SUBTYPES = {"VORBIS": "Ogg Vorbis", "OPUS": "Opus", "FLAC": "Ogg FLAC", "SPEEX": "Speex"}


def format_label(
    container: str | None,
    codec: str | None = None,
    *,
    has_bext: bool = False,
    ext: str | None = None,
) -> str | None:
    """Name a file's format the way users do.

    Args:
        container: libsndfile's major format (``"WAVEX"``, ``"OGG"``, ``"MPEG"``) or FFmpeg's
            demuxer name (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"caf"``, ``"wv"``).
        codec: libsndfile's subtype (``"PCM_24"``, ``"OPUS"``, ``"ALAC_16"``) or FFmpeg's
            codec name (``"aac"``, ``"alac"``, ``"wmav2"``).
        has_bext: The file has a ``bext`` chunk (a Broadcast WAV): ``"BWF"``.
        ext: The file's extension without the dot, a last hint (``"aifc"``).

    Returns:
        ``"WAV"``, ``"BWF"``, ``"AIFF"``, ``"AIFF-C"``, ``"FLAC"``, ``"MP3"``, ``"Ogg Vorbis"``,
        ``"Opus"``, ``"M4A/AAC"``, ``"M4A/ALAC"``, ``"CAF/ALAC"``, ``"AAC (ADTS)"``,
        ``"WavPack"``, ``"WMA"``, ``"AC3"``, ``"MP2"`` ..., or ``None`` when nothing is known.
    """
    cont = (container or "").strip()
    sub = (codec or "").strip()
    sub_up = sub.upper()
    low = cont.lower()
    codec_label = _CODECS.get(sub.lower())
    if cont.upper() in ("WAV", "WAVEX") or low == "wav":
        if has_bext:
            return "BWF"
        if codec_label and not sub.lower().startswith("pcm_"):
            return f"WAV/{codec_label}"
        return "WAV"
    if cont.upper() == "AIFF" or low == "aiff":
        if sub_up in ("", "PCM_S8", "PCM_16", "PCM_24", "PCM_32", "PCM_U8") and ext != "aifc":
            return "AIFF"
        if sub.lower() in ("pcm_s16be", "pcm_s24be", "pcm_s32be", "pcm_s8") and ext != "aifc":
            return "AIFF"
        return "AIFF-C"
    if cont.upper() == "OGG" or low == "ogg":
        if sub_up in _OGG_SUBTYPES:
            return _OGG_SUBTYPES[sub_up]
        return {"Vorbis": "Ogg Vorbis", "FLAC": "Ogg FLAC"}.get(
            codec_label or "", codec_label or "Ogg"
        )
    if cont.upper() == "CAF" or low == "caf":
        if sub_up.startswith("ALAC") or sub.lower() == "alac":
            return "CAF/ALAC"
        return f"CAF/{codec_label}" if codec_label else "CAF"
    if cont.upper() == "MPEG" or low in ("mp3", "mp2"):
        if sub_up == "MPEG_LAYER_II" or codec_label == "MP2":
            return "MP2"
        if sub_up == "MPEG_LAYER_I" or codec_label == "MP1":
            return "MP1"
        return "MP3"
    if "mp4" in low or "m4a" in low or low == "mov":
        return f"M4A/{codec_label}" if codec_label else "M4A"
    if low in ("aac", "adts"):
        return "AAC (ADTS)"
    if low in ("matroska,webm", "matroska", "webm"):
        return f"{'WebM' if ext == 'webm' else 'Matroska'}/{codec_label or 'audio'}"
    if low == "asf":
        return codec_label or "WMA"
    if low == "wv":
        return "WavPack"
    if low == "w64":
        return "Wave64"
    if low in ("rf64", "bw64"):
        return "BWF" if has_bext else "RF64"
    if low == "flac":
        return "FLAC"
    if low in ("au", "sun"):
        return "AU"
    if low in ("dsf", "iff"):
        return "DSD (DSF)" if low == "dsf" else "DSD (DFF)"
    if low == "ape":
        return "Monkey's Audio"
    if cont.upper() in _SNDFILE:
        return _SNDFILE[cont.upper()]
    if codec_label:
        return codec_label
    return cont.upper() or None
