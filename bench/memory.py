"""Memory: the peak RSS of a worker analysing a call, and of the server while a large file is uploaded.

1. Worker: each recording is analysed in a fresh process running what a worker's job runs
   (callscope.pipeline.analyze, model load included); its peak RSS is the kernel's ru_maxrss.
2. Upload: a real `callscope serve` (127.0.0.1, in-process workers off so the upload is all it does)
   receives WAV files of 20 MB and 200 MB streamed by httpx from a generator. Before each upload the
   server's peak counter is reset (/proc/PID/clear_refs); RSS is also sampled every 20 ms. The upload
   path must be flat in file size: the 200 MB peak may not exceed the 20 MB one by more than --slack-mib.

    .venv/bin/python -m bench.memory --out bench/results/memory.json
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.api_load import serve
from bench.common import (
    SAMPLES,
    build_long_call,
    default_clips,
    machine_info,
    machine_line,
    print_table,
    rss_of,
    write_json,
)

MIB = 1024 * 1024
_BLOCK = 1 * MIB


# --- the worker -----------------------------------------------------------------------------------


def worker_peak(path: Path) -> dict[str, Any]:
    """Peak RSS (MiB) of a fresh process that analyses path (its own VmHWM at the end), and its wall time."""
    code = ("import sys; from callscope.pipeline import analyze, AnalyzeOptions; "
            "from bench.common import rss_of; "
            "a = analyze(sys.argv[1], AnalyzeOptions()); "
            "print(round(a.transcript.duration, 1), rss_of(__import__('os').getpid())['VmHWM'])")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"analysing {path} failed: {tail}")
    duration, peak_kib = proc.stdout.split()[-2:]
    return {"file": str(path), "audio_seconds": float(duration), "peak_rss_mib": int(peak_kib) / 1024,
            "wall_seconds": wall}


# --- the upload -----------------------------------------------------------------------------------


def wav_stream(size: int, boundary: str, rep: str) -> tuple[Iterator[bytes], int]:
    """A multipart body with a valid PCM WAV of `size` bytes (16 kHz mono noise), made as it is sent."""
    import numpy as np

    data_bytes = size - 44
    header = (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
              + b"data" + struct.pack("<I", data_bytes))
    block = (np.random.default_rng(size).normal(0, 300, _BLOCK // 2)).astype("<i2").tobytes()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"rep\"\r\n\r\n{rep}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmemory bench {size}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"bench-{size}.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield header
        left = data_bytes
        while left > 0:
            n = min(left, _BLOCK)
            yield block[:n]
            left -= n
        yield tail

    return body(), len(head) + size + len(tail)


def upload_peak(base: str, token: str, pid: int, size: int) -> dict[str, Any]:
    """Upload one file of `size` bytes; the server's RSS before, at its peak and after (MiB)."""
    import httpx

    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = rss_of(pid)["VmRSS"]
    sampled = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sampled.append(rss_of(pid)["VmRSS"])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    boundary = f"benchboundary{size}"
    body, length = wav_stream(size, boundary, "memory@bench.example")
    t0 = time.perf_counter()
    try:
        response = httpx.post(f"{base}/api/v1/calls", content=body, timeout=600,
                              headers={"Authorization": f"Bearer {token}", "Content-Length": str(length),
                                       "Content-Type": f"multipart/form-data; boundary={boundary}"})
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - t0
    after = rss_of(pid)
    peak = max(after["VmHWM"], max(sampled))
    return {"size_mb": size / 1e6, "status": response.status_code, "response": response.text[:200],
            "seconds": seconds, "mb_per_second": size / 1e6 / seconds, "rss_before_mib": before / 1024,
            "rss_peak_mib": peak / 1024, "rss_after_mib": after["VmRSS"] / 1024,
            "peak_growth_mib": (peak - before) / 1024}


def measure_uploads(sizes_mb: list[int]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="callscope-bench-upload-") as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "CALLSCOPE_DATA_DIR": str(data)}
        env.pop("CALLSCOPE_DATABASE_URL", None)
        token = subprocess.run([sys.executable, "-m", "callscope", "token", "create", "--role", "admin",
                                "--data-dir", str(data)], env=env, capture_output=True, text=True, check=True)
        # no analysis during the upload: only the upload path counts
        with serve(data, "", Path(tmp) / "server.log", extra_env={"CALLSCOPE_WORKERS": "0"}) as server:
            secret = token.stdout.strip()
            upload_peak(server.base, secret, server.pid, 1_000_000)  # warm-up: first-request imports (av)
            return [upload_peak(server.base, secret, server.pid, mb * 1_000_000) for mb in sizes_mb]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory",
        description="Peak RSS of a worker analysing a call, and of `callscope serve` while receiving a 20 MB "
                    "and a 200 MB upload (must be flat in file size).")
    parser.add_argument("--files", nargs="*", default=None, metavar="AUDIO",
                        help="recordings for the worker measurement (default: samples/zh-demo.stereo.flac, "
                             "samples/zh-demo.mono.flac and a concatenated long call)")
    parser.add_argument("--long-minutes", type=float, default=5.5,
                        help="length of the concatenated long call (0: none; default 5.5)")
    parser.add_argument("--upload-mb", nargs="+", type=int, default=[20, 200], help="upload sizes, MB")
    parser.add_argument("--slack-mib", type=float, default=16.0,
                        help="how much more the largest upload's peak may grow than the smallest's "
                             "(default 16)")
    parser.add_argument("--skip-worker", action="store_true", help="only the upload measurement")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    info = machine_info()
    print(f"machine: {machine_line(info)}")
    workers = []
    if not args.skip_worker:
        with tempfile.TemporaryDirectory(prefix="callscope-bench-mem-") as tmp:
            files = [Path(f) for f in args.files] if args.files is not None else \
                [SAMPLES / "zh-demo.stereo.flac", SAMPLES / "zh-demo.mono.flac"]
            if args.files is None and args.long_minutes > 0:
                files.append(build_long_call(default_clips(), args.long_minutes * 60,
                                             Path(tmp) / "long-call.stereo.wav").path)
            for path in files:
                print(f"worker: analysing {path.name}", file=sys.stderr, flush=True)
                workers.append(worker_peak(path))
        print_table(["recording", "audio s", "peak RSS MiB", "wall s"],
                    [[Path(w["file"]).name, w["audio_seconds"], w["peak_rss_mib"], w["wall_seconds"]]
                     for w in workers],
                    title="worker: one call analysed in a fresh process (model load included)")

    uploads = measure_uploads(sorted(args.upload_mb))
    print_table(["upload MB", "status", "s", "MB/s", "RSS before MiB", "peak MiB", "after MiB",
                 "peak growth MiB"],
                [[u["size_mb"], u["status"], u["seconds"], u["mb_per_second"], u["rss_before_mib"],
                  u["rss_peak_mib"], u["rss_after_mib"], u["peak_growth_mib"]] for u in uploads],
                title="server (callscope serve, SQLite) during a streamed upload")
    growth = uploads[-1]["peak_growth_mib"] - uploads[0]["peak_growth_mib"]
    flat = growth <= args.slack_mib and all(u["status"] in (200, 202) for u in uploads)
    print(f"\nupload memory {'is flat' if flat else 'is NOT flat'} in file size: "
          f"the {uploads[-1]['size_mb']:.0f} MB "
          f"upload's peak grew {growth:+.1f} MiB more than the {uploads[0]['size_mb']:.0f} MB one's "
          f"(allowed {args.slack_mib:g})")
    write_json(args.out, {"benchmark": "memory", "machine": info, "worker": workers, "uploads": uploads,
                          "upload_flat": flat, "slack_mib": args.slack_mib})
    return 0


if __name__ == "__main__":
    sys.exit(main())
