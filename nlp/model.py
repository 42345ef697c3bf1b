"""The trained classifiers: the shipped artifact, or a fresh one trained from the corpus.

nlp/data/models/classifiers-v1.joblib is what `python -m nlp.train` writes. It is used when its
metadata says it was made from this corpus by this scikit-learn version; otherwise (missing,
other scikit-learn, edited corpus) the classifiers are retrained from the corpus (seconds) into
settings.cache_dir and reused from there.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from callscope.config import Settings
from nlp.corpus import corpus_sha256
from nlp.resources import DATA_DIR

ARTIFACT_VERSION = "v1"
MODEL_DIR = DATA_DIR / "models"
ARTIFACT = MODEL_DIR / f"classifiers-{ARTIFACT_VERSION}.joblib"
ARTIFACT_META = MODEL_DIR / f"classifiers-{ARTIFACT_VERSION}.json"
SEED = 20240611

log = logging.getLogger(__name__)


@dataclass
class Classifiers:
    stage: Pipeline  # text -> one of STAGES
    objection: Pipeline  # text -> one of OBJECTION_TYPES or "none"
    role: Pipeline  # text -> "rep" or "customer" (who is likely to say it)
    meta: dict[str, Any]


_lock = threading.Lock()
_loaded: dict[Path, Classifiers] = {}


def _compatible(meta: dict[str, Any], corpus_sha: str) -> bool:
    return (meta.get("artifact_version") == ARTIFACT_VERSION and meta.get("sklearn") == sklearn.__version__
            and meta.get("corpus_sha256") == corpus_sha)


def _read(path: Path, meta: dict[str, Any]) -> Classifiers | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
            data = joblib.load(path)
        return Classifiers(stage=data["stage"], objection=data["objection"], role=data["role"], meta=meta)
    except Exception as exc:  # a stale or damaged pickle is retrained, never fatal
        log.warning("ignoring nlp model %s: %s", path, exc)
        return None


def write_artifact(classifiers: Classifiers, path: Path) -> None:
    """Write the joblib file and its JSON metadata beside it, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    models = {"stage": classifiers.stage, "objection": classifiers.objection, "role": classifiers.role}
    joblib.dump(models, tmp, compress=3)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the artifact is shipped and shared
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(classifiers.meta, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_classifiers(settings: Settings) -> Classifiers:
    """The classifiers, loaded once per process (thread-safe)."""
    cache_path = Path(settings.cache_dir) / "nlp" / ARTIFACT.name
    with _lock:
        if cache_path in _loaded:
            return _loaded[cache_path]
        sha = corpus_sha256()
        for path in (ARTIFACT, cache_path):
            meta = _read_meta(path)
            if path.exists() and _compatible(meta, sha) and (found := _read(path, meta)):
                _loaded[cache_path] = found
                return found
        from nlp.train import fit_classifiers  # only when there is no usable artifact

        log.info("training nlp classifiers from the corpus into %s", cache_path)
        trained = fit_classifiers(SEED)
        try:
            write_artifact(trained, cache_path)
        except OSError as exc:  # a read-only cache costs a retrain per process, nothing more
            log.warning("cannot cache nlp model in %s: %s", cache_path, exc.strerror or exc)
        _loaded[cache_path] = trained
        return trained
