"""The trained classifiers and their artifact on disk (nlp.classifiers decides which one a process uses).

nlp/data/models/classifiers-v3.joblib is what `python -m callscope.nlp.train` writes, with its JSON
metadata beside it (artifact version, scikit-learn version, corpus sha256).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from callscope.nlp.encoder import EncoderHead
from callscope.nlp.resources import DATA_DIR

# v2: modules under callscope.* (the pickles name callscope.nlp.tokens.token_features); no role model
# v3: a third model, whether the rep's answer handled an objection
ARTIFACT_VERSION = "v3"
MODEL_DIR = DATA_DIR / "models"
ARTIFACT = MODEL_DIR / f"classifiers-{ARTIFACT_VERSION}.joblib"
ARTIFACT_META = MODEL_DIR / f"classifiers-{ARTIFACT_VERSION}.json"
SEED = 20240611

log = logging.getLogger(__name__)


@dataclass
class Classifiers:
    stage: Pipeline | None  # text -> one of STAGES; None: not fitted (objections measured alone)
    objection: Pipeline  # text -> one of OBJECTION_TYPES or "none"
    meta: dict[str, Any]
    # objections.handling_input(type, the rep's answer) -> True (handled) or False; None: judged by
    # the handling lexicon alone
    handled: Pipeline | None = None
    # the objection head on sentence embeddings, blended with `objection` (nlp.encoder); None: the
    # lexical classifier alone (the understanding extra is not installed)
    encoder: EncoderHead | None = None


def compatible(meta: dict[str, Any], corpus_sha: str) -> bool:
    return (meta.get("artifact_version") == ARTIFACT_VERSION and meta.get("sklearn") == sklearn.__version__
            and meta.get("corpus_sha256") == corpus_sha)


def read_artifact(path: Path, meta: dict[str, Any]) -> Classifiers | None:
    """The classifiers in `path`, or None (logged) when they cannot be loaded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
            data = joblib.load(path)
        return Classifiers(stage=data["stage"], objection=data["objection"], meta=meta,
                           handled=data["handled"])
    except Exception as exc:  # a stale or damaged pickle is retrained, never fatal
        log.warning("ignoring nlp model %s: %s", path, exc)
        return None


def write_artifact(classifiers: Classifiers, path: Path) -> None:
    """Write the joblib file and its JSON metadata beside it, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    models = {"stage": classifiers.stage, "objection": classifiers.objection, "handled": classifiers.handled}
    joblib.dump(models, tmp, compress=3)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the artifact is shipped and shared
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(classifiers.meta, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")


def read_meta(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
