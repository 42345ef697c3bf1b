"""The classifiers' shape: character n-grams + jieba token n-grams (TF-IDF) -> logistic regression."""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from callscope.nlp.text import model_text
from callscope.nlp.tokens import token_features


def build_classifier(seed: int) -> Pipeline:
    """A text classifier; fit(texts, labels) then predict_proba(texts)."""
    features = FeatureUnion([
        # characters carry meaning in Chinese (贵, 签) and survive ASR homophone errors in part
        # 1-4: four characters hold a Chinese phrase (钱都分完, 做不了主) and an English word's stem,
        # which carry over to authors who phrase things their own way (leave-one-author-out: python
        # -m callscope.nlp.train --leave-one-author-out)
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), preprocessor=model_text,
                                  sublinear_tf=True, min_df=2, max_features=60000)),
        ("words", TfidfVectorizer(analyzer=token_features, sublinear_tf=True, min_df=1, max_features=30000)),
    ])
    classifier = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced", random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])
