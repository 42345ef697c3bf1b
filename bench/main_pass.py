"""What the main decoding pass costs and gives under other decoding choices, on one long stereo call.

The main pass (asr.decoding._main_pass: faster-whisper's batched pipeline over our VAD pieces) is most of
a call's decode. Each variant decodes both channels of the call bench.pipeline_vs_plain builds, from the
same VAD pieces and detected language, and reports the process's CPU seconds (load-independent enough to
compare on a shared machine, unlike wall time), wall seconds and the CER of each channel's text against
that channel's truth turns. The second look, homophones and NLP are left out: this isolates the pass.

    .venv/bin/python -m bench.main_pass --phone --minutes 6.8
    .venv/bin/python -m bench.main_pass --phone --variants batched beam2 sequential

Variants: batched (the shipped pass: batch_size 8, settings' beam, 5), batch1, beam1..beam4, no-word-times
(alignment's share), sequential (WhisperModel.transcribe over the same glued pieces, with timestamps).
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    build_long_call,
    cer,
    chosen_clips,
    machine_info,
    machine_line,
    print_table,
    truth_of,
    write_json,
)

SAMPLE_RATE = 16000
VARIANTS = ("batched", "batch1", "beam1", "beam2", "beam3", "beam4", "no-word-times", "sequential")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.main_pass", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.8, help="length of the call built (default 6.8)")
    parser.add_argument("--phone", action="store_true", help="the phone-band renders of bench/phoneband")
    parser.add_argument("--clips", nargs="+", help="stereo clips with ID.truth.json beside them")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args(argv)

    from faster_whisper.audio import decode_audio
    from faster_whisper.transcribe import restore_speech_timestamps

    from callscope.asr import decoding
    from callscope.asr.model import load_model
    from callscope.asr.text import to_simplified
    from callscope.core.config import Settings

    settings = Settings.from_env()
    model = load_model(settings)
    clips = chosen_clips(args.clips, args.phone)
    with tempfile.TemporaryDirectory() as tmp:
        call = build_long_call(clips, args.minutes * 60, Path(tmp) / "call.wav")
        channels = decode_audio(str(call.path), sampling_rate=SAMPLE_RATE, split_stereo=True)
    truths = ["", ""]
    for clip in clips:
        if clip.audio.name in call.sources:
            for turn in sorted(truth_of(clip)["turns"], key=lambda t: t["start"]):
                truths[turn["channel"]] += turn["text"]
    prepared = []
    for audio in channels:
        chunks = decoding.speech_chunks(audio)
        language, _ = decoding.detect_language(model, audio, decoding.speech_regions(chunks))
        prepared.append((audio, chunks, language))

    def batched(**change: Any) -> Callable[..., Any]:
        chosen = dataclasses.replace(settings, **{k: v for k, v in change.items() if k == "batch_size"})
        extra = {k: v for k, v in change.items() if k != "batch_size"}
        return lambda audio, chunks, options: decoding._main_pass(model, audio, chunks, chosen,
                                                                  {**options, **extra})

    def sequential(audio: np.ndarray, chunks: list[dict[str, int]], options: dict[str, Any]) -> Any:
        glued, clips = decoding.glued_speech(audio, chunks)
        # the sequential transcribe takes the clips as a flat list of seconds
        times = [t for clip in clips for t in (clip["start"], clip["end"])]
        segments, _ = model.whisper.transcribe(glued, clip_timestamps=times, vad_filter=False, **options)
        return restore_speech_timestamps(segments, chunks, SAMPLE_RATE)

    passes: dict[str, Callable[..., Any]] = {
        "batched": batched(), "batch1": batched(batch_size=1),
        "no-word-times": batched(word_timestamps=False), "sequential": sequential,
        **{f"beam{k}": batched(beam_size=k) for k in range(1, 5)},
    }
    rows, results = [], {}
    for name in args.variants:
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        texts = []
        for audio, chunks, language in prepared:
            options = decoding._options(settings, language, multilingual=True)
            segments = sorted(passes[name](audio, chunks, options), key=lambda s: s.start)
            texts.append("".join(to_simplified(s.text) for s in segments))
        cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
        per_channel = [cer(truths[i], texts[i]) for i in (0, 1)]
        results[name] = {"cpu_seconds": cpu, "wall_seconds": wall,
                         "cer": cer(truths[0] + truths[1], "".join(texts)), "cer_per_channel": per_channel}
        rows.append([name, f"{cpu:.1f}", f"{wall:.1f}", f"{results[name]['cer']:.3f}",
                     " / ".join(f"{c:.3f}" for c in per_channel)])
        print(f"{name} done", flush=True)
    info = machine_info()
    title = f"main pass, {call.duration:.0f} s call ({len(call.sources)} clips); {machine_line(info)}"
    print_table(["variant", "CPU s", "wall s", "CER", "CER rep / customer"], rows, title=title)
    write_json(args.out, {"machine": info, "call_seconds": call.duration, "sources": call.sources,
                          "variants": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
