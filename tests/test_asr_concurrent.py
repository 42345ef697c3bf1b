"""Two calls decoded at once in threads of one process (as the service's worker threads do, on the one
shared model) give exactly the transcripts each gives decoded alone."""

from __future__ import annotations

import threading

from callscope.core.config import Settings
from callscope.ingest import load_recording
from callscope.pipeline import transcribe
from tests.conftest import sample_clip


def _words(transcript) -> list[tuple]:
    return [(t.speaker, w.text, round(w.start, 3), round(w.end, 3), round(w.probability, 4))
            for t in transcript.turns for w in t.words]


def test_two_calls_decoded_at_once_match_each_decoded_alone(tmp_path):
    settings = Settings.from_env()
    recordings = [load_recording(sample_clip(tmp_path, "zh-demo.stereo.flac", 0, 8), channels="stereo",
                                 settings=settings),
                  load_recording(sample_clip(tmp_path, "en-demo.stereo.flac", 0, 8), channels="stereo",
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
