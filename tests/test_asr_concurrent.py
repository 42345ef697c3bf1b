"""Two calls decoded at once in threads of one process (as the service's worker threads do, on the one
shared model) give exactly the transcripts each gives decoded alone."""

from __future__ import annotations

import threading
from pathlib import Path

import soundfile

from callscope.core.config import Settings
from callscope.ingest import load_recording
from callscope.pipeline import transcribe

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _clip(tmp_path: Path, name: str, start: float, seconds: float) -> Path:
    data, rate = soundfile.read(SAMPLES / name)
    out = tmp_path / f"{Path(name).stem}-{start:g}.flac"
    soundfile.write(out, data[int(start * rate): int((start + seconds) * rate)], rate, format="FLAC")
    return out


def _words(transcript) -> list[tuple]:
    return [(t.speaker, w.text, round(w.start, 3), round(w.end, 3), round(w.probability, 4))
            for t in transcript.turns for w in t.words]


def test_two_calls_decoded_at_once_match_each_decoded_alone(tmp_path):
    settings = Settings.from_env()
    recordings = [load_recording(_clip(tmp_path, "zh-demo.stereo.flac", 0, 8), channels="stereo",
                                 settings=settings),
                  load_recording(_clip(tmp_path, "en-demo.stereo.flac", 0, 8), channels="stereo",
                                 settings=settings)]
    alone = [_words(transcribe(r, settings)) for r in recordings]
    assert all(len(words) > 5 for words in alone)

    together: list = [None, None]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            together[i] = _words(transcribe(recordings[i], settings))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert together == alone
