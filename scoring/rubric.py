"""Coaching rubrics: load a built-in name, a YAML/JSON file or a dict, and validate it strictly.

A rubric is data a manager edits (scoring/rubrics/*.yaml explains every field); this module turns it
into a `Rubric` or raises `RubricValidationError` naming the bad field, e.g.
"rubric items[3].weight: expected a positive number, got 'ten'". The API uses `validate` for
PUT /rubrics/{name} and answers 422 with `err.field`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callscope.core.errors import RubricError
from callscope.models.document import ROLES, STAGES
from callscope.nlp.opening import OPENING_PARTS
from callscope.scoring.checks import CHECKS, Param

BUILTIN_DIR = Path(__file__).with_name("rubrics")
# the contract's metrics (analysis document `metrics`) a rubric may set a band for
METRIC_NAMES = ("talk_ratio", "longest_monologue", "interactivity", "patience", "questions", "question_rate")
OUTCOMES_REQUIRED = ("pass", "fail", "not_applicable")
OUTCOMES_OPTIONAL = ("partial",)
COMMON_PLACEHOLDERS = {"score": 7.5, "max": 10.0}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # as the API allows in URLs
_LANG = re.compile(r"^[a-z]{2}$")


class RubricValidationError(RubricError):
    """A malformed rubric; `field` is the path of the bad field (items[3].weight), empty for the whole."""

    def __init__(self, field: str, problem: str, source: str = "") -> None:
        self.field = field
        self.problem = problem
        where = f"rubric {source} " if source else "rubric "
        super().__init__(f"{where}{field}: {problem}" if field else f"{where.rstrip()}: {problem}")


@dataclass(frozen=True)
class Grade:
    id: str
    min_score: float
    label: dict[str, str]


@dataclass(frozen=True)
class Item:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    weight: float
    check: str
    params: dict[str, Any]  # every parameter of the check kind, defaults filled in
    applies_when: dict[str, Any]
    veto: bool
    feedback: dict[str, dict[str, str]]  # outcome -> language -> text


@dataclass(frozen=True)
class Rubric:
    name: str
    languages: list[str]
    title: dict[str, str]
    description: dict[str, str]
    grades: list[Grade]  # highest min_score first
    items: list[Item]
    version: str  # content hash: scorecards record which rubric text produced them
    data: dict[str, Any]
    # bands of the metrics no item measures (patience, question rate ...): with the items' own bands,
    # the one set of targets the call page, the rep page and the evaluation judge metrics by
    metric_targets: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The rubric as given (JSON-ready), e.g. for GET /rubrics/{name} or storing in the database."""
        return copy.deepcopy(self.data)

    def language_for(self, lang: str | None) -> str:
        return lang if lang in self.languages else self.languages[0]

    def grade_for(self, score: float) -> Grade:
        return next((g for g in self.grades if score >= g.min_score), self.grades[-1])

    def targets(self) -> dict[str, Any]:
        """Metric targets set by the items (talk ratio band, monologue limit ...), for reports."""
        found: dict[str, Any] = {name: dict(band) for name, band in self.metric_targets.items()}
        for item in self.items:
            found.update(CHECKS[item.check].targets(item.params))
        return found


# --- loading ------------------------------------------------------------------------------------


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_rubric(spec: str | Path | dict[str, Any]) -> Rubric:
    """A built-in rubric by name, a YAML/JSON file by path, or a rubric given as a dict."""
    if isinstance(spec, dict):
        return validate(spec)
    if isinstance(spec, str) and spec in builtin_names():
        path = BUILTIN_DIR / f"{spec}.yaml"
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise RubricError(f"rubric {str(spec)!r} not found: neither a built-in rubric "
                              f"({', '.join(builtin_names())}) nor a file")
    return validate(_read(path), source=path.name)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RubricError(f"rubric file {path} cannot be read: {err}") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        problem = f"line {err.lineno}: {err.msg}"
        raise RubricError(f"rubric file {path.name} is not valid JSON: {problem}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise RubricError(f"rubric file {path.name} is not valid YAML: {where}{problem}") from None


def validate(data: Any, source: str = "") -> Rubric:
    """Check a rubric strictly; raise RubricValidationError naming the first bad field."""
    return _Validator(source).rubric(data)


# --- validation ---------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.languages: list[str] = []

    def fail(self, field: str, problem: str) -> RubricValidationError:
        return RubricValidationError(field, problem, self.source)

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping, got {_show(value)}")
        return value

    def keys(self, value: dict[str, Any], field: str, required: tuple[str, ...],
             optional: tuple[str, ...]) -> None:
        prefix = f"{field}." if field else ""
        for key in required:
            if key not in value:
                raise self.fail(f"{prefix}{key}", "is required")
        for key in value:
            if key not in required + optional:
                expected = ", ".join(required + optional)
                raise self.fail(f"{prefix}{key}", f"unknown field (expected one of: {expected})")

    def text(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"expected a non-empty text, got {_show(value)}")
        return value

    def localized(self, value: Any, field: str) -> dict[str, str]:
        """A text per rubric language: {zh: ..., en: ...}."""
        value = self.mapping(value, field)
        for lang in self.languages:
            if lang not in value:
                raise self.fail(f"{field}.{lang}",
                                f"missing text (the rubric's languages are {self.languages})")
        for lang in value:
            if lang not in self.languages:
                raise self.fail(f"{field}.{lang}", f"language not in the rubric's languages {self.languages}")
        return {lang: self.text(value[lang], f"{field}.{lang}") for lang in self.languages}

    def number(self, value: Any, field: str, low: float | None = None, high: float | None = None,
               low_inclusive: bool = True, integer: bool = False) -> float:
        kind = "an integer" if integer else "a number"
        if low == 0 and not low_inclusive:
            kind = "a positive integer" if integer else "a positive number"
        if not _is_number(value) or (integer and not float(value).is_integer()):
            raise self.fail(field, f"expected {kind}, got {_show(value)}")
        too_low = low is not None and (value < low if low_inclusive else value <= low)
        if too_low or (high is not None and value > high):
            bracket = "[" if low_inclusive else "("
            raise self.fail(field, f"{value} is out of range {bracket}{low}, {high}]")
        return int(value) if integer else float(value)

    def boolean(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"expected true or false, got {_show(value)}")
        return value

    def detect(self, value: Any, field: str) -> str | None:
        """An opening part nlp recognises by its shape besides the cues (nlp.opening)."""
        if value is None:
            return None
        if value not in OPENING_PARTS:
            raise self.fail(field, f"unknown value {_show(value)} "
                                   f"(expected one of: {', '.join(OPENING_PARTS)})")
        return str(value)

    def choices(self, value: Any, field: str, allowed: tuple[str, ...]) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.fail(field, f"expected a non-empty list, got {_show(value)}")
        for i, v in enumerate(value):
            if v not in allowed:
                raise self.fail(f"{field}[{i}]",
                                f"unknown value {_show(v)} (expected one of: {', '.join(allowed)})")
        return list(value)

    def cues(self, value: Any, field: str) -> dict[str, list[str]]:
        """Phrase lists per language: {zh: [...], en: [...]}; any language code may carry cues."""
        value = self.mapping(value, field)
        if not value:
            raise self.fail(field, "needs at least one language with phrases")
        out = {}
        for lang, phrases in value.items():
            if not isinstance(lang, str) or not _LANG.match(lang):
                raise self.fail(f"{field}.{lang}", "expected a two-letter language code")
            if not isinstance(phrases, list) or not phrases:
                raise self.fail(f"{field}.{lang}",
                                f"expected a non-empty list of phrases, got {_show(phrases)}")
            out[lang] = [self.text(p, f"{field}.{lang}[{i}]").strip() for i, p in enumerate(phrases)]
        return out

    def param(self, value: Any, field: str, spec: Param) -> Any:
        if spec.kind in ("number", "int"):
            return self.number(value, field, spec.low, spec.high, spec.low_inclusive,
                               integer=spec.kind == "int")
        if spec.kind == "bool":
            return self.boolean(value, field)
        if spec.kind == "cues":
            return self.cues(value, field)
        if spec.kind == "roles":
            return self.choices(value, field, ROLES)
        if spec.kind == "strings":
            if not isinstance(value, list):
                raise self.fail(field, f"expected a list, got {_show(value)}")
            return [self.text(v, f"{field}[{i}]") for i, v in enumerate(value)]
        if spec.kind == "parts":
            parts = self.mapping(value, field)
            if not parts:
                raise self.fail(field, "needs at least one part")
            out = {}
            for key, part in parts.items():
                sub = f"{field}.{key}"
                self.keys(self.mapping(part, sub), sub, ("label", "cues"), ("detect",))
                out[key] = {"label": self.localized(part["label"], f"{sub}.label"),
                            "cues": self.cues(part["cues"], f"{sub}.cues"),
                            "detect": self.detect(part.get("detect"), f"{sub}.detect")}
            return out
        raise AssertionError(f"unknown parameter kind {spec.kind}")  # a bug in CHECKS, not in the rubric

    def params(self, value: Any, field: str, check: str) -> dict[str, Any]:
        kind = CHECKS[check]
        value = {} if value is None else self.mapping(value, field)
        for key in value:
            if key not in kind.params:
                raise self.fail(f"{field}.{key}", f"unknown parameter of check '{check}' "
                                                  f"(expected: {', '.join(kind.params)})")
        out = {}
        for key, spec in kind.params.items():
            if key in value:
                out[key] = self.param(value[key], f"{field}.{key}", spec)
            elif spec.default is None:
                raise self.fail(f"{field}.{key}", f"is required by check '{check}'")
            else:
                out[key] = copy.deepcopy(spec.default)
        problem = kind.consistency(out)
        if problem:
            raise self.fail(f"{field}.{problem[0]}", problem[1])
        return out

    def applies_when(self, value: Any, field: str) -> dict[str, Any]:
        if value is None:
            return {}
        value = self.mapping(value, field)
        self.keys(value, field, (), ("objection_raised", "customer_spoke", "business_buyer", "stages",
                                     "min_duration"))
        out: dict[str, Any] = {}
        for key in ("objection_raised", "customer_spoke", "business_buyer"):
            if key in value:
                out[key] = self.boolean(value[key], f"{field}.{key}")
        if "stages" in value:
            out["stages"] = self.choices(value["stages"], f"{field}.stages", STAGES)
        if "min_duration" in value:
            out["min_duration"] = self.number(value["min_duration"], f"{field}.min_duration", 0, 4 * 3600)
        return out

    def feedback(self, value: Any, field: str, check: str) -> dict[str, dict[str, str]]:
        value = self.mapping(value, field)
        self.keys(value, field, OUTCOMES_REQUIRED, OUTCOMES_OPTIONAL)
        samples = {**COMMON_PLACEHOLDERS, **CHECKS[check].placeholders}
        out = {}
        for outcome, texts in value.items():
            out[outcome] = self.localized(texts, f"{field}.{outcome}")
            for lang, text in out[outcome].items():
                self.placeholders(text, f"{field}.{outcome}.{lang}", samples, check)
        return out

    def placeholders(self, text: str, field: str, samples: dict[str, Any], check: str) -> None:
        known = ", ".join("{" + k + "}" for k in samples)
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as err:
            raise self.fail(field, f"{err} (write {{{{ and }}}} for literal braces)") from None
        for name in names:
            if name not in samples:
                raise self.fail(field, f"unknown placeholder {{{name}}} for check '{check}' (known: {known})")
        try:
            text.format(**samples)
        except (ValueError, TypeError) as err:
            raise self.fail(field, f"bad placeholder format: {err}") from None

    def item(self, value: Any, field: str) -> Item:
        value = self.mapping(value, field)
        self.keys(value, field, ("id", "name", "weight", "check", "feedback"),
                  ("description", "params", "applies_when", "veto"))
        item_id = value["id"]
        if not isinstance(item_id, str) or not _ID.match(item_id):
            raise self.fail(f"{field}.id", f"expected lower-case letters, digits and _, got {_show(item_id)}")
        check = value["check"]
        if check not in CHECKS:
            raise self.fail(f"{field}.check", f"unknown check kind {_show(check)} (expected one of: "
                                              f"{', '.join(CHECKS)})")
        return Item(
            id=item_id,
            name=self.localized(value["name"], f"{field}.name"),
            description=self.localized(value["description"], f"{field}.description") if "description" in value
            else {},
            weight=self.number(value["weight"], f"{field}.weight", 0, 1000, low_inclusive=False),
            check=check,
            params=self.params(value.get("params"), f"{field}.params", check),
            applies_when=self.applies_when(value.get("applies_when"), f"{field}.applies_when"),
            veto=self.boolean(value.get("veto", False), f"{field}.veto"),
            feedback=self.feedback(value["feedback"], f"{field}.feedback", check),
        )

    def grades(self, value: Any, field: str) -> list[Grade]:
        if not isinstance(value, list) or not value:
            raise self.fail(field, f"expected a non-empty list of grade bands, got {_show(value)}")
        grades: list[Grade] = []
        for i, band in enumerate(value):
            sub = f"{field}[{i}]"
            band = self.mapping(band, sub)
            self.keys(band, sub, ("id", "min_score", "label"), ())
            if not isinstance(band["id"], str) or not _ID.match(band["id"]):
                raise self.fail(f"{sub}.id",
                                f"expected lower-case letters, digits and _, got {_show(band['id'])}")
            grade = Grade(band["id"], self.number(band["min_score"], f"{sub}.min_score", 0, 100),
                          self.localized(band["label"], f"{sub}.label"))
            for other in grades:
                if other.id == grade.id:
                    raise self.fail(f"{sub}.id", f"duplicate grade id {grade.id!r}")
                if other.min_score == grade.min_score:
                    raise self.fail(f"{sub}.min_score", f"duplicate min_score {grade.min_score:g}")
            grades.append(grade)
        if not any(g.min_score == 0 for g in grades):
            raise self.fail(field, "one grade band must have min_score 0 so every score gets a grade")
        return sorted(grades, key=lambda g: g.min_score, reverse=True)

    def rubric(self, data: Any) -> Rubric:
        if not isinstance(data, dict):
            raise self.fail("", f"expected a mapping at the top level, got {type(data).__name__}")
        self.keys(data, "", ("name", "languages", "title", "grades", "items"), ("description", "targets"))
        name = data["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail("name", f"expected letters, digits, '-', '_' or '.' (at most 64), "
                                    f"got {_show(name)}")
        langs = data["languages"]
        if not isinstance(langs, list) or not langs:
            raise self.fail("languages", f"expected a non-empty list such as [zh, en], got {_show(langs)}")
        for i, lang in enumerate(langs):
            if not isinstance(lang, str) or not _LANG.match(lang) or langs.index(lang) != i:
                raise self.fail(f"languages[{i}]", f"expected a distinct two-letter code, got {_show(lang)}")
        self.languages = list(langs)
        if not isinstance(data["items"], list) or not data["items"]:
            raise self.fail("items", f"expected a non-empty list of items, got {_show(data['items'])}")
        items: list[Item] = []
        for i, raw in enumerate(data["items"]):
            item = self.item(raw, f"items[{i}]")
            if any(other.id == item.id for other in items):
                raise self.fail(f"items[{i}].id", f"duplicate item id {item.id!r}")
            items.append(item)
        metric_targets = self.metric_targets(data.get("targets"), items)
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return Rubric(
            name=name,
            languages=self.languages,
            title=self.localized(data["title"], "title"),
            description=self.localized(data["description"], "description") if "description" in data else {},
            grades=self.grades(data["grades"], "grades"),
            items=items,
            version=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12],
            data=copy.deepcopy(data),
            metric_targets=metric_targets,
        )

    def metric_targets(self, value: Any, items: list[Item]) -> dict[str, dict[str, float]]:
        """targets: {metric: {min: x, max: y}} for metrics no item sets a band for (one band each)."""
        if value is None:
            return {}
        value = self.mapping(value, "targets")
        by_items = {name: item.id for item in items for name in CHECKS[item.check].targets(item.params)}
        out: dict[str, dict[str, float]] = {}
        for name, band in value.items():
            field_ = f"targets.{name}"
            if name not in METRIC_NAMES:
                raise self.fail(field_, f"unknown metric (expected one of: {', '.join(METRIC_NAMES)})")
            if name in by_items:
                raise self.fail(field_, f"item {by_items[name]!r} already sets this band: keep one")
            band = self.mapping(band, field_)
            self.keys(band, field_, (), ("min", "max"))
            if not band:
                raise self.fail(field_, "give min and/or max")
            out[name] = {k: self.number(v, f"{field_}.{k}", 0, 4 * 3600) for k, v in band.items()}
            if "min" in out[name] and "max" in out[name] and out[name]["min"] >= out[name]["max"]:
                raise self.fail(f"{field_}.max", f"must be greater than min ({out[name]['min']:g})")
        return out
