"""Consumer or business buyer: whether the call's customer buys for a household or an organisation.

Phrase lists in nlp/data/buyer.yaml. Only the words decide; a call that names neither is a business
call, the default of a sales call.
"""

from __future__ import annotations

import functools

from callscope.models.document import Transcript
from callscope.nlp.phrases import PhraseLexicon
from callscope.nlp.resources import load_yaml


@functools.lru_cache(maxsize=1)
def _lexicon() -> PhraseLexicon:
    data = load_yaml("buyer.yaml")
    return PhraseLexicon({"household": data["household"], "organisation": data["organisation"]})


def is_consumer_call(transcript: Transcript) -> bool:
    """True when the turns name a household and never an organisation."""
    found: set[str] = set()
    for turn in transcript.turns:
        found |= _lexicon().names(turn.text)
    return "household" in found and "organisation" not in found
