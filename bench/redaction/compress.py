"""Re-encode synthcall's stereo renders as Ogg/Opus (a tenth of the FLAC size) and drop the mono mixes and
FLAC files: what bench/redaction/audio keeps. Run after rendering (see README.md).

    .venv/bin/python -m bench.redaction.compress            # bench/redaction/audio
    .venv/bin/python -m bench.redaction.compress heldout    # bench/redaction/heldout/audio
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent


def to_opus(source: Path, target: Path, bitrate: int) -> None:
    data, rate = sf.read(source, dtype="float32", always_2d=True)
    with av.open(str(target), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000, layout="stereo" if data.shape[1] == 2 else "mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp",
                                           layout="stereo" if data.shape[1] == 2 else "mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def main() -> None:
    root = HERE / sys.argv[1] if len(sys.argv) > 1 else HERE
    for variant, bitrate in (("clean", 48000), ("phone", 32000)):
        for flac in sorted((root / "audio" / variant).glob("*.stereo.flac")):
            to_opus(flac, flac.with_name(flac.name.replace(".flac", ".ogg")), bitrate)
            flac.unlink()
        for mono in (root / "audio" / variant).glob("*.mono.*"):
            mono.unlink()


if __name__ == "__main__":
    main()
