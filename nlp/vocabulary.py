"""The sales vocabulary nlp knows, for the recognizer: the pipeline hands it to asr (which reads
nothing of nlp) so that misheard sales words can be spelled right."""

from __future__ import annotations

import functools

from callscope.nlp.corpus import load_corpus
from callscope.nlp.resources import DATA_DIR
from callscope.nlp.tokens import default_tokenizer


@functools.lru_cache(maxsize=1)
def sales_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """(words, terms): the words jieba finds in the training corpus, and the terms of the user
    dictionary. The tokenizer is built for this alone and dropped after: kept, it would hold a second
    copy of jieba's dictionary (73 MiB) beside nlp's, which has the user dictionary in it and so cuts
    the corpus differently."""
    tokenizer = default_tokenizer()
    texts = (e.text for e in load_corpus().all_examples())
    words = {w for text in texts for w in tokenizer.lcut(text, HMM=False) if len(w) >= 2}
    userdict = (DATA_DIR / "userdict.txt").read_text(encoding="utf-8").splitlines()
    terms = {line.split()[0] for line in userdict if line.strip()}
    return frozenset(words), frozenset(terms)
