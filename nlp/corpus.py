"""The labeled training corpus (nlp/data/corpus/*.yaml) and its ASR-noise augmentation.

utterances.yaml: groups of utterances sharing stage, role, language, industry and objection type.
calls*.yaml: whole short calls, every file named calls*.yaml in the folder (calls.yaml, the team's own;
calls_authors_a.yaml ..., written by outside authors); each file is one author for leave-one-author-out
cross-validation (utterances.yaml belongs to the team's). In a call each turn is "R text" (rep) or
"C text" (customer; "C2 text" for a second person on the customer's side), optionally followed by
"!<objection type>" on a customer turn, "!handled" / "!unhandled" on the rep's answer ("#" would start
a YAML comment), and "@<stage>" where one turn serves another stage than the call. A call may carry
its author's rubric verdicts, `rubric: {item id: true | false | null}` (null: the item does not apply),
which the rubric's leave-one-author-out agreement is measured against.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from callscope.models.document import OBJECTION_TYPES, STAGES
from callscope.nlp.resources import DATA_DIR, load_yaml
from callscope.nlp.text import has_cjk

CORPUS_DIR = DATA_DIR / "corpus"
NO_OBJECTION = "none"
MIXED = "mixed"  # a call's lang: Mandarin with English turns or terms (a transcript's language is then zh)
LANGS = ("zh", "en", MIXED)
TEAM = "team"  # the author of utterances.yaml and calls.yaml
_TURN = re.compile(r"^(?P<speaker>R|C2?)\s+(?P<text>.*?)(?P<tags>(?:\s+[!@][a-z_]+)*)\s*$")


@dataclass
class Example:
    text: str
    stage: str
    role: str
    lang: str
    objection: str = NO_OBJECTION
    handled: bool | None = None  # on a rep turn that answers an objection
    group: str = ""  # examples of one group (a call, an utterance and its variants) stay in one fold
    author: str = TEAM  # who wrote it: the corpus file's author (see author_of)
    speaker: str = ""  # in a call: "R", "C" or "C2" (a second customer person)
    answers: str = ""  # on a rep turn labeled handled / unhandled: the objection type it answers


@dataclass
class Call:
    id: str
    stage: str
    lang: str
    industry: str
    turns: list[Example] = field(default_factory=list)
    author: str = TEAM
    rubric: dict[str, bool | None] = field(default_factory=dict)  # the author's verdict per rubric item


@dataclass
class Corpus:
    utterances: list[Example]
    calls: list[Call]

    def all_examples(self) -> list[Example]:
        return self.utterances + [t for c in self.calls for t in c.turns]

    def authors(self) -> list[str]:
        """The corpus's authors, the team first."""
        return sorted({c.author for c in self.calls} | {e.author for e in self.utterances},
                      key=lambda a: (a != TEAM, a))


def author_of(path: Path) -> str:
    """calls.yaml / utterances.yaml -> "team"; calls_authors_a.yaml -> "authors_a"."""
    stem = path.stem
    if stem in ("calls", "utterances"):
        return TEAM
    return stem.removeprefix("calls_").removeprefix("calls-") or stem


def call_files() -> list[Path]:
    """Every calls*.yaml in the corpus folder, in name order."""
    return sorted(CORPUS_DIR.glob("calls*.yaml"))


def _check(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: unknown label {value!r}")
    return value


def _parse_turn(line: str, call: dict, index: int, author: str) -> Example:
    m = _TURN.match(line.strip())
    if not m:
        raise ValueError(f"call {call['id']} turn {index}: expected 'R text', 'C text' or 'C2 text', "
                         f"got {line!r}")
    speaker, text = m.group("speaker"), m.group("text")
    # a code-switched call ("mixed") has Mandarin turns and whole English ones: each turn its own language
    lang = call["lang"] if call["lang"] != MIXED else "zh" if has_cjk(text) else "en"
    example = Example(text=text, stage=call["stage"], role="rep" if speaker == "R" else "customer", lang=lang,
                      group=call["id"], author=author, speaker=speaker)
    for tag in m.group("tags").split():
        name = tag[1:]
        if tag.startswith("@"):
            example.stage = _check(name, STAGES, call["id"])
        elif name in ("handled", "unhandled"):
            example.handled = name == "handled"
        else:
            example.objection = _check(name, OBJECTION_TYPES, call["id"])
    return example


def _rubric_labels(spec: dict) -> dict[str, bool | None]:
    labels = spec.get("rubric") or {}
    if not isinstance(labels, dict):
        raise ValueError(f"call {spec['id']}: rubric must map item ids to true, false or null")
    for item, verdict in labels.items():
        if not isinstance(item, str) or not (verdict is None or isinstance(verdict, bool)):
            raise ValueError(f"call {spec['id']}: rubric {item!r}: expected true, false or null, "
                             f"got {verdict!r}")
    return dict(labels)


def load_calls(path: Path) -> list[Call]:
    """The calls of one calls*.yaml file, by its author; ValueError names a bad call or turn."""
    author = author_of(path)
    calls = []
    for spec in load_yaml(path) or []:
        _check(spec["stage"], STAGES, spec["id"])
        _check(spec["lang"], LANGS, spec["id"])
        call = Call(id=spec["id"], stage=spec["stage"], lang=spec["lang"], industry=spec.get("industry", ""),
                    author=author, rubric=_rubric_labels(spec))
        call.turns = [_parse_turn(line, spec, i, author) for i, line in enumerate(spec["turns"])]
        raised = ""  # the latest objection raised: what a labeled rep answer answers
        for turn in call.turns:
            if turn.objection != NO_OBJECTION:
                raised = turn.objection
            elif turn.handled is not None:
                turn.answers = raised
        calls.append(call)
    return calls


@functools.lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    utterances = []
    for g, group in enumerate(load_yaml(CORPUS_DIR / "utterances.yaml")):
        stage = _check(group["stage"], STAGES, f"utterance group {g}")
        objection = group.get("objection", NO_OBJECTION)
        if objection != NO_OBJECTION:
            _check(objection, OBJECTION_TYPES, f"utterance group {g}")
        for i, text in enumerate(group["texts"]):
            lang = group.get("lang") or ("zh" if has_cjk(text) else "en")
            utterances.append(Example(text=str(text), stage=stage, role=group["role"], lang=lang,
                                      objection=objection, group=f"u{g}-{i}"))
    calls: list[Call] = []
    seen: dict[str, str] = {}
    for path in call_files():
        for call in load_calls(path):
            if call.id in seen:
                raise ValueError(f"{path.name}: call id {call.id!r} already used in {seen[call.id]}")
            seen[call.id] = path.name
            calls.append(call)
    return Corpus(utterances, calls)


def corpus_sha256() -> str:
    digest = hashlib.sha256()
    for path in sorted(CORPUS_DIR.glob("*.yaml")) + [DATA_DIR / "homophones.yaml", DATA_DIR / "userdict.txt"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# --- ASR-like noise ---------------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[，。！？、；：,.!?;:…“”\"'（）()]")


@functools.lru_cache(maxsize=1)
def _noise_tables() -> tuple[list[tuple[str, str]], dict[str, str]]:
    homophones = [(a, b) for a, b in load_yaml("homophones.yaml")["zh"].items()]
    simp_to_trad = {}
    for line in (DATA_DIR / "t2s.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split()
            simp_to_trad.setdefault(simp, trad)
    return homophones, simp_to_trad


def noisy_variants(text: str, rng: random.Random) -> list[str]:
    """Variants of an utterance as ASR might render it: no punctuation; homophone errors;
    traditional characters (Whisper without a prompt)."""
    homophones, to_trad = _noise_tables()
    bare = re.sub(r"\s+", " ", _PUNCTUATION.sub(" ", text)).strip()
    variants = [bare] if bare != text else []
    if has_cjk(text):
        swapped = bare
        for right, wrong in homophones:
            if right in swapped and rng.random() < 0.7:
                swapped = swapped.replace(right, wrong, 1)
        if swapped != bare:
            variants.append(swapped)
        if rng.random() < 0.5:
            variants.append("".join(to_trad.get(ch, ch) for ch in text))
    else:
        variants.append(bare.lower())
    return variants


def augment(examples: list[Example], seed: int) -> list[Example]:
    """The examples plus their noisy variants (same labels, same group)."""
    rng = random.Random(seed)
    out = list(examples)
    for ex in examples:
        for variant in noisy_variants(ex.text, rng):
            out.append(Example(variant, ex.stage, ex.role, ex.lang, ex.objection, ex.handled, ex.group,
                               ex.author, ex.speaker, ex.answers))
    return out
