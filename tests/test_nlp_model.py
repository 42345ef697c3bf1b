"""The shipped classifiers, the corpus they come from, and retraining when the artifact is unusable."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
import sklearn

from callscope.core.config import Settings
from callscope.models.document import OBJECTION_TYPES, STAGES
from callscope.nlp import classifiers as nlp_classifiers
from callscope.nlp import model as nlp_model
from callscope.nlp.corpus import corpus_sha256, load_corpus
from callscope.nlp.objections import is_handled
from callscope.nlp.stage import stage_probabilities


def test_corpus_is_large_varied_and_labeled() -> None:
    corpus = load_corpus()
    examples = corpus.all_examples()
    assert len(examples) >= 600 and len(corpus.calls) >= 40
    assert set(Counter(e.stage for e in examples)) == set(STAGES)
    assert set(Counter(c.stage for c in corpus.calls)) == set(STAGES)
    objections = Counter(e.objection for e in examples)
    assert all(objections[t] >= 10 for t in OBJECTION_TYPES)
    assert {e.lang for e in examples} == {"zh", "en"}
    assert len({c.industry for c in corpus.calls}) >= 8
    assert all(e.role in ("rep", "customer") for e in examples)
    assert all(e.role == "customer" for e in examples if e.objection != "none")
    assert sum(1 for e in examples if e.handled is not None) >= 20


def test_shipped_artifact_is_current_and_small() -> None:
    meta = json.loads(nlp_model.ARTIFACT_META.read_text(encoding="utf-8"))
    assert nlp_model.ARTIFACT.stat().st_size < 8_000_000  # three models (stage, objection, handled)
    assert meta["corpus_sha256"] == corpus_sha256(), \
        "corpus changed: run `.venv/bin/python -m callscope.nlp.train`"
    assert meta["artifact_version"] == nlp_model.ARTIFACT_VERSION
    cv = meta["cross_validation"]
    # single turns of the outside authors' calls say less about the stage than the team's did
    assert cv["call_stage_accuracy"] >= 0.8 and cv["turn_stage_accuracy"] >= 0.45


@pytest.mark.parametrize(("kind", "answer", "handled"), [
    # answers written for this test, not taken from the corpus
    ("price", "明白，两万八确实不是小数目。您是跟哪家的报价比的？我把两边的配置一项项列出来，"
              "您看看差在哪，如果是我们贵在没必要的地方，我给您换个配置。", True),
    ("price", "我们的价格已经是最低的了，别家都是偷工减料。您还有什么别的问题吗？", False),
    ("trust", "I get why you'd want proof. I can put you in touch with two clinics near you that "
              "switched last spring, and you can ask them anything without me on the call.", True),
    ("trust", "Honestly you don't need to worry about that, we're a big company. Anyway, let me "
              "show you the reporting screen.", False),
])
def test_the_shipped_handled_model_tells_an_answer_from_a_brush_off(kind: str, answer: str,
                                                                    handled: bool) -> None:
    classifiers = nlp_classifiers.load_classifiers(Settings.from_env())
    assert classifiers.handled is not None
    assert is_handled(kind, answer, classifiers) is handled


@pytest.fixture
def fresh_loader(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(nlp_classifiers, "_loaded", {})
    return monkeypatch


def test_missing_artifact_is_retrained_into_the_cache_and_reused(fresh_loader, tmp_path) -> None:
    fresh_loader.setattr(nlp_classifiers, "ARTIFACT", tmp_path / "absent" / nlp_model.ARTIFACT.name)
    settings = Settings(cache_dir=tmp_path / "cache")
    trained = nlp_classifiers.load_classifiers(settings)
    cached = tmp_path / "cache" / "nlp" / nlp_model.ARTIFACT.name
    assert cached.exists()
    meta = json.loads(cached.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["sklearn"] == sklearn.__version__ and meta["corpus_sha256"] == corpus_sha256()
    probs = stage_probabilities(trained.stage, ["合同我今天下午发您，您盖章后寄回来，首付款到账我们就发货"])
    assert STAGES[int(probs.argmax())] == "closing"

    # a second process finds the cached model: no training this time
    fresh_loader.setattr(nlp_classifiers, "_loaded", {})
    def no_training(*_args, **_kwargs):
        raise AssertionError("retrained although a compatible cached model exists")

    fresh_loader.setattr(nlp_classifiers, "fit_classifiers", no_training)
    again = nlp_classifiers.load_classifiers(settings)
    assert list(again.stage.classes_) == list(trained.stage.classes_)


def test_artifact_from_another_sklearn_is_not_loaded(fresh_loader, tmp_path) -> None:
    # the loader must decide to retrain; the training itself is the test above's (minutes: not twice)
    fitted = []

    def fit_once(seed: int):
        fitted.append(seed)
        return nlp_model.read_artifact(nlp_model.ARTIFACT, {**meta, "sklearn": sklearn.__version__})

    fresh_loader.setattr(nlp_classifiers, "fit_classifiers", fit_once)
    stale = tmp_path / "models" / nlp_model.ARTIFACT.name
    stale.parent.mkdir()
    shutil.copy(nlp_model.ARTIFACT, stale)
    meta = json.loads(nlp_model.ARTIFACT_META.read_text(encoding="utf-8"))
    stale.with_suffix(".json").write_text(json.dumps({**meta, "sklearn": "0.1.0"}), encoding="utf-8")
    fresh_loader.setattr(nlp_classifiers, "ARTIFACT", stale)
    cache = tmp_path / "cache"
    (cache / "nlp").mkdir(parents=True)
    # a damaged cache file with matching metadata is ignored too, then replaced
    (cache / "nlp" / nlp_model.ARTIFACT.name).write_bytes(b"not a pickle")
    (cache / "nlp" / nlp_model.ARTIFACT_META.name).write_text(json.dumps(meta), encoding="utf-8")
    loaded = nlp_classifiers.load_classifiers(Settings(cache_dir=cache))
    assert fitted == [nlp_model.SEED]
    assert loaded.meta["sklearn"] == sklearn.__version__
    assert (cache / "nlp" / nlp_model.ARTIFACT.name).stat().st_size > 1000
