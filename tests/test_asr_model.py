"""The bundled model is assembled once, verified, rebuilt when damaged, and loaded once per process."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from callscope.asr.model import BUNDLED_SHA256, bundled_model_dir, load_model, resolve_device
from callscope.core.config import Settings
from callscope.core.errors import ModelError


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_assembled_once_verified_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    target = bundled_model_dir(tmp_path)
    assert target.name == f"whisper-base-{BUNDLED_SHA256[:12]}"
    assert _sha256(target / "model.bin") == BUNDLED_SHA256
    assert {p.name for p in target.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                   "vocabulary.txt", "assembled.json"}
    assert json.loads((target / "assembled.json").read_text())["sha256"] == BUNDLED_SHA256

    # a second call trusts the marker: no rewrite, no rehash
    mtime = (target / "model.bin").stat().st_mtime_ns
    started = time.perf_counter()
    assert bundled_model_dir(tmp_path) == target
    assert time.perf_counter() - started < 0.05
    assert (target / "model.bin").stat().st_mtime_ns == mtime

    # a partial model.bin (interrupted copy, full disk) is detected and rebuilt
    with (target / "model.bin").open("r+b") as f:
        f.truncate(1000)
    bundled_model_dir(tmp_path)
    assert _sha256(target / "model.bin") == BUNDLED_SHA256

    # a lost side file too
    (target / "tokenizer.json").unlink()
    bundled_model_dir(tmp_path)
    assert (target / "tokenizer.json").is_file()


def test_concurrent_assembly_is_safe(tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(bundled_model_dir(tmp_path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert _sha256(results[0] / "model.bin") == BUNDLED_SHA256
    assert not [p for p in results[0].iterdir() if p.name.startswith(".")]  # no temp files left


def test_load_model_is_cached_per_process() -> None:
    settings = Settings.from_env()
    first = load_model(settings)
    assert load_model(settings) is first
    device, compute_type = resolve_device(settings)
    assert (first.device, first.compute_type) == (device, compute_type)
    assert first.name == "whisper-base"


def test_cpu_defaults_to_int8() -> None:
    assert resolve_device(Settings(device="cpu")) == ("cpu", "int8")
    assert resolve_device(Settings(device="cuda")) == ("cuda", "float16")


@pytest.mark.parametrize(("settings", "message"), [
    (Settings(model="/no/such/model/dir"), "model directory not found"),
    (Settings(device="tpu"), "device must be auto, cpu or cuda"),
])
def test_model_errors_are_one_line(settings: Settings, message: str) -> None:
    with pytest.raises(ModelError, match=message) as caught:
        load_model(settings)
    assert "\n" not in str(caught.value)


def test_a_directory_that_is_no_model(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="cannot load speech model") as caught:
        load_model(Settings(model=str(tmp_path), device="cpu"))
    assert "\n" not in str(caught.value)
