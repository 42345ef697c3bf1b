"""Rubric loading and strict validation: every malformed rubric names its bad field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from callscope.core.errors import RubricError
from callscope.scoring import load_rubric
from callscope.scoring.rubric import BUILTIN_DIR, RubricValidationError, builtin_names, validate

CONTRACT_IDS = {"opening", "needs_discovery", "qualification_budget", "qualification_authority", "talk_ratio",
                "monologue", "objection_handling", "next_step", "compliance"}


def default_data() -> dict[str, Any]:
    return yaml.safe_load((BUILTIN_DIR / "default.yaml").read_text(encoding="utf-8"))


def item_index(data: dict[str, Any], item_id: str) -> int:
    return next(i for i, item in enumerate(data["items"]) if item["id"] == item_id)


def test_builtin_rubrics_load_and_default_has_the_contract_items() -> None:
    assert {"default", "qa-strict"} <= set(builtin_names())
    default = load_rubric("default")
    assert {item.id for item in default.items} >= CONTRACT_IDS
    assert default.languages == ["zh", "en"]
    assert [g.id for g in default.grades] == ["excellent", "pass", "fail"]
    assert default.grades[0].label == {"zh": "优秀", "en": "Excellent"}
    strict = load_rubric("qa-strict")
    assert strict.version != default.version
    assert any(item.veto for item in strict.items)


def test_talk_ratio_and_monologue_thresholds_become_report_targets() -> None:
    targets = load_rubric("default").targets()
    assert targets["talk_ratio"] == {"min": 0.35, "max": 0.65}
    assert targets["longest_monologue"]["max"] == 60


def test_to_dict_round_trips_through_json_with_the_same_version(tmp_path: Path) -> None:
    rubric = load_rubric("default")
    as_json = json.loads(json.dumps(rubric.to_dict(), ensure_ascii=False))
    assert load_rubric(as_json).version == rubric.version
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(as_json, ensure_ascii=False), encoding="utf-8")
    assert load_rubric(path).version == rubric.version
    assert load_rubric(str(path)).name == "default"


def test_an_edit_changes_the_version() -> None:
    data = default_data()
    data["items"][0]["weight"] = 11
    assert validate(data).version != load_rubric("default").version


def test_unknown_rubric_name_is_a_one_line_error() -> None:
    with pytest.raises(RubricError, match="not found") as err:
        load_rubric("no-such-rubric")
    assert "\n" not in str(err.value)


def test_invalid_yaml_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nitems: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(RubricError, match="not valid YAML: line") as err:
        load_rubric(path)
    assert "\n" not in str(err.value)


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


def _duplicate_item(data: dict[str, Any]) -> None:
    data["items"].append(copy.deepcopy(data["items"][0]))


def _no_zero_grade(data: dict[str, Any]) -> None:
    data["grades"] = [g for g in data["grades"] if g["min_score"] > 0]


TALK = 4  # items[4] is talk_ratio in default.yaml (asserted below)

MALFORMED = [
    ("weight is text", _set(["items", 3, "weight"], "ten"), "items[3].weight",
     "expected a positive number, got 'ten'"),
    ("weight is zero", _set(["items", 0, "weight"], 0), "items[0].weight", "out of range"),
    ("unknown check", _set(["items", 2, "check"], "mind_reading"), "items[2].check",
     "unknown check kind 'mind_reading'"),
    ("missing fail feedback", _delete(["items", 1, "feedback", "fail"]), "items[1].feedback.fail",
     "is required"),
    ("missing en text", _delete(["items", 1, "feedback", "pass", "en"]), "items[1].feedback.pass.en",
     "missing text"),
    ("duplicate id", _duplicate_item, "items[10].id", "duplicate item id 'opening'"),
    ("ratio above 1", _set(["items", TALK, "params", "max"], 1.5), f"items[{TALK}].params.max",
     "out of range"),
    ("band inverted", _set(["items", TALK, "params", "min"], 0.7), f"items[{TALK}].params.max",
     "must be greater than min"),
    ("unknown placeholder", _set(["items", TALK, "feedback", "fail", "en"], "You spoke {talkratio}."),
     f"items[{TALK}].feedback.fail.en", "unknown placeholder {talkratio}"),
    ("bad number format", _set(["items", TALK, "feedback", "pass", "zh"], "{talk_ratio:.0q}"),
     f"items[{TALK}].feedback.pass.zh", "bad placeholder format"),
    ("unknown parameter", _set(["items", TALK, "params", "maximum"], 0.6), f"items[{TALK}].params.maximum",
     "unknown parameter of check 'talk_ratio_band'"),
    ("missing required parameter", _delete(["items", TALK, "params", "min"]), f"items[{TALK}].params.min",
     "is required by check"),
    ("unknown stage", _set(["items", 2, "applies_when", "stages"], ["discovery", "dinner"]),
     "items[2].applies_when.stages[1]", "unknown value 'dinner'"),
    ("grade above 100", _set(["grades", 0, "min_score"], 120), "grades[0].min_score", "out of range"),
    ("no grade from 0", _no_zero_grade, "grades", "min_score 0"),
    ("empty cue list", _set(["items", 2, "params", "cues", "zh"], []), "items[2].params.cues.zh",
     "non-empty list"),
    ("veto not boolean", _set(["items", 8, "veto"], "yes"), "items[8].veto", "expected true or false"),
    ("unknown top-level field", _set(["colour"], "blue"), "colour", "unknown field"),
    ("bad language code", _set(["languages"], ["zh", "english"]), "languages[1]", "two-letter"),
    ("bad item id", _set(["items", 0, "id"], "Opening Line"), "items[0].id", "lower-case"),
]


@pytest.mark.parametrize(("edit", "field", "problem"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_rubric_names_the_bad_field(edit: Callable[[dict[str, Any]], None], field: str,
                                              problem: str) -> None:
    data = default_data()
    assert data["items"][TALK]["id"] == "talk_ratio" and data["items"][8]["id"] == "compliance"
    edit(data)
    with pytest.raises(RubricValidationError) as err:
        validate(data)
    assert err.value.field == field
    assert str(err.value).startswith(f"rubric {field}: ")
    assert problem in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, RubricError) and err.value.http_status == 422


def test_exact_message_for_a_text_weight() -> None:
    data = default_data()
    data["items"][3]["weight"] = "ten"
    with pytest.raises(RubricError) as err:
        load_rubric(data)
    assert str(err.value) == "rubric items[3].weight: expected a positive number, got 'ten'"


def test_error_from_a_file_names_the_file(tmp_path: Path) -> None:
    data = default_data()
    data["items"][0]["check"] = "vibes"
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RubricValidationError, match=r"^rubric team\.yaml items\[0\]\.check: unknown check"):
        load_rubric(path)


def test_not_a_mapping_is_rejected() -> None:
    with pytest.raises(RubricValidationError, match="expected a mapping at the top level, got list"):
        validate([1, 2])


def test_check_command_reports_ok_and_the_bad_field(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from callscope.scoring.__main__ import main

    data = default_data()
    data["items"][4]["params"]["min"] = "low"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["check", "default", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "default: ok" in out and "10 items, 100 points" in out
    assert "rubric bad.yaml items[4].params.min: expected a number, got 'low'" in err
