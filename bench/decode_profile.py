"""Where one call's decode time goes, per channel: VAD speech, encoder passes, second look, guards.

Builds the same long stereo call as bench.pipeline_vs_plain (the clips given, concatenated) and decodes
each channel as the pipeline does (asr.decoding.decode_channel), timing faster-whisper's own steps from
outside: VAD, language detection (per channel and per doubtful region), encoder passes (in 30 s windows:
an input shorter than a window counts its share), the batched passes, word alignment, the sequential
re-decodes (with the temperature each ended at) and the second look. Counts are load-independent;
seconds are not (quote `uptime`).

    .venv/bin/python -m bench.decode_profile --minutes 6.8 \
        --clips bench/redaction/audio/phone/redact-zh-0*.stereo.ogg
    .venv/bin/python -m bench.decode_profile --minutes 6.8 --phone
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import (
    build_long_call,
    chosen_clips,
    machine_info,
    machine_line,
    print_table,
    write_json,
)

SAMPLE_RATE = 16000


@contextlib.contextmanager
def _timed(seconds: defaultdict[str, float], counts: Counter[str]) -> Iterator[None]:
    """Wrap the steps of interest with timers for the duration of the block."""
    from faster_whisper import transcribe as fwt

    from callscope.asr import decoding

    patched: list[tuple[Any, str, Callable[..., Any]]] = []

    def wrap(owner: Any, name: str, key: str, count: Callable[..., int] = lambda *a, **k: 1) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[key] += time.perf_counter() - t0
                counts[key] += count(*args, **kwargs)

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(decoding, "speech_chunks", "vad")
    wrap(decoding, "detect_language", "language detection")
    wrap(decoding, "spoken_language", "region language checks")
    wrap(decoding, "_second_look", "second look (all)")
    wrap(decoding, "_redecode", "sequential re-decode")
    wrap(fwt.WhisperModel, "encode", "encoder windows",
         lambda self, features: round((features.shape[0] if features.ndim == 3 else 1)
                                      * features.shape[-1] / 3000, 2))
    wrap(fwt.BatchedInferencePipeline, "generate_segment_batched", "batched passes (incl. encoder)")
    wrap(fwt.WhisperModel, "add_word_timestamps", "word alignment")
    original_fallback = fwt.WhisperModel.generate_with_fallback

    def fallback(self: Any, *args: Any) -> Any:
        result = original_fallback(self, *args)
        counts[f"sequential windows at temperature {result[2]}"] += 1
        return result

    fwt.WhisperModel.generate_with_fallback = fallback
    patched.append((fwt.WhisperModel, "generate_with_fallback", original_fallback))
    original_batched = fwt.BatchedInferencePipeline.generate_segment_batched

    def batched(self: Any, *args: Any) -> Any:
        encoder_output, output = original_batched(self, *args)
        tokens = [len(o["tokens"]) for o in output]  # decoder work: beam search steps per clip
        counts["batched tokens"] += sum(tokens)
        counts["batched clips"] += len(tokens)
        counts["batched tokens, longest clip"] = max(counts["batched tokens, longest clip"], *tokens)
        return encoder_output, output

    fwt.BatchedInferencePipeline.generate_segment_batched = batched
    patched.append((fwt.BatchedInferencePipeline, "generate_segment_batched", original_batched))
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def profile(path: Path) -> list[dict[str, Any]]:
    """One row of figures per channel of the stereo file at `path`."""
    from faster_whisper.audio import decode_audio

    from callscope.asr import decoding
    from callscope.asr.model import load_model
    from callscope.core.config import Settings

    settings = Settings.from_env()
    model = load_model(settings)
    rows = []
    for ch, audio in enumerate(decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)):
        seconds: defaultdict[str, float] = defaultdict(float)
        counts: Counter[str] = Counter()
        t0 = time.perf_counter()
        with _timed(seconds, counts):
            result = decoding.decode_channel(model, audio, settings, language=None,
                                             progress=lambda _: None, label=f"channel {ch}")
        duration = len(audio) / SAMPLE_RATE
        speech = sum(b - a for a, b in result.speech)
        rows.append({"channel": ch, "duration": duration, "speech_seconds": speech,
                     "speech_fraction": speech / duration, "regions": len(result.speech),
                     "decode_seconds": time.perf_counter() - t0, "words": len(result.words),
                     "seconds": dict(seconds), "counts": dict(counts), "guards": dict(result.guards)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.decode_profile",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.5, help="length of the test call, at least")
    parser.add_argument("--clips", nargs="+", metavar="AUDIO", help="stereo files with ID.truth.json beside "
                        "them (default: bench.pipeline_vs_plain's)")
    parser.add_argument("--phone", action="store_true",
                        help="bench/phoneband's renders (ordinary calls, 8 kHz, 25 dB noise) instead")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    clips = chosen_clips(args.clips, args.phone)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="callscope-profile-") as tmp:
        call = build_long_call(clips, args.minutes * 60, Path(tmp) / "call.stereo.wav")
        print(f"machine: {machine_line(info)}")
        print(f"test call: {call.duration:.1f}s stereo from {', '.join(call.sources)}")
        rows = profile(call.path)
    for row in rows:
        print_table(["step", "seconds", "count"],
                    [[k, round(v, 2), row["counts"].get(k, "")] for k, v in sorted(row["seconds"].items())]
                    + [[k, "", v] for k, v in sorted(row["counts"].items()) if k not in row["seconds"]],
                    title=f"channel {row['channel']}: {row['speech_seconds']:.1f} s VAD speech of "
                          f"{row['duration']:.1f} s ({row['speech_fraction']:.1%}, {row['regions']} "
                          f"regions), decode {row['decode_seconds']:.1f} s, {row['words']} words, "
                          f"guards {row['guards']}")
    write_json(args.out, {"benchmark": "decode_profile", "machine": info, "sources": call.sources,
                          "channels": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
