"""The classifiers a process uses: the shipped artifact, else one trained from the corpus.

The shipped artifact is used when its metadata says it was made from this corpus by this
scikit-learn version; otherwise (missing, other scikit-learn, edited corpus) the classifiers are
retrained from the corpus (seconds) into settings.cache_dir and reused from there.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from callscope.core.config import Settings
from callscope.nlp.corpus import corpus_sha256
from callscope.nlp.model import (
    ARTIFACT,
    SEED,
    Classifiers,
    compatible,
    read_artifact,
    read_meta,
    write_artifact,
)
from callscope.nlp.train import fit_classifiers

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[Path, Classifiers] = {}


def load_classifiers(settings: Settings) -> Classifiers:
    """The classifiers, loaded once per process (thread-safe)."""
    cache_path = Path(settings.cache_dir) / "nlp" / ARTIFACT.name
    with _lock:
        if cache_path in _loaded:
            return _loaded[cache_path]
        sha = corpus_sha256()
        for path in (ARTIFACT, cache_path):
            meta = read_meta(path)
            if path.exists() and compatible(meta, sha) and (found := read_artifact(path, meta)):
                _loaded[cache_path] = found
                return found
        log.info("training nlp classifiers from the corpus into %s", cache_path)
        trained = fit_classifiers(SEED)
        try:
            write_artifact(trained, cache_path)
        except OSError as exc:  # a read-only cache costs a retrain per process, nothing more
            log.warning("cannot cache nlp model in %s: %s", cache_path, exc.strerror or exc)
        _loaded[cache_path] = trained
        return trained
