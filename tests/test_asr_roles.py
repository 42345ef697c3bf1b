"""Mono role assignment without distinct voices: turn-taking plus what each utterance says."""

from __future__ import annotations

from pathlib import Path

import pytest

from callscope.asr.roles import load_cues, roles_by_turn_taking, voices_take_turns
from callscope.core.errors import InputError
from callscope.models.document import Turn


def _utterances(*texts: str) -> list[Turn]:
    return [Turn(start=3.0 * i, end=3.0 * i + 2.5, speaker=f"U{i}", role="customer", text=text)
            for i, text in enumerate(texts)]


def test_roles_by_turn_taking_alternate_and_cues_pick_the_rep() -> None:
    utterances = _utterances("您好，我是明远科技的顾问李明，今天想了解一下贵公司仓库的情况。", "你好。",
                             "咱们现在有几个仓库？", "三个。", "明白了。", "好的。")
    assert roles_by_turn_taking(utterances) == ["rep", "customer"] * 3


def test_roles_by_turn_taking_keep_the_floor_when_the_words_say_so() -> None:
    utterances = _utterances("您好，我是明远科技的顾问李明，今天想了解一下贵公司仓库的情况。", "你好。",
                             "你们的价格太贵了，我们预算不够。", "我理解，我们可以先免费试用一个月。", "行。")
    assert roles_by_turn_taking(utterances) == ["rep", "customer", "customer", "rep", "customer"]


def test_a_question_hands_the_floor_over_and_a_continuation_keeps_it() -> None:
    # "五个人。" then "而且都是兼职的。": without the handover cues either speaker could say the second
    utterances = _utterances("您好，我是明远科技的顾问李明。", "你好。", "咱们仓库现在有几个人管？",
                             "五个人。", "而且都是兼职的。", "明白，那我们的系统可以帮上忙。")
    assert roles_by_turn_taking(utterances) == ["rep", "customer", "rep", "customer", "customer", "rep"]


def test_a_handover_cue_must_say_where_it_looks(tmp_path: Path) -> None:
    bad = tmp_path / "cues.yaml"
    bad.write_text("cues: []\nhandover_cues:\n  - {name: q, where: middle, nats: 1, pattern: x}\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match="before or after"):
        load_cues(bad)


def test_roles_by_turn_taking_of_nothing() -> None:
    assert roles_by_turn_taking([]) == []


def test_voice_labels_count_only_when_they_follow_the_turn_taking() -> None:
    utterances = _utterances(*(["嗯。"] * 12))
    assert voices_take_turns(utterances, ["A", "B"] * 6)
    assert voices_take_turns(utterances, ["A", "B", "A", "B", "B", "A", "B", "A", "B", "A", None, "A"])
    # one voice split into clusters of something else (loudness, content): no turn-taking in the labels
    assert not voices_take_turns(utterances, list("AAAABAAAAABA"))
    assert not voices_take_turns(utterances, ["A"] * 12)


def test_one_voice_cluster_holding_most_utterances_is_not_trusted() -> None:
    """B only ever labels the customer, but A labels the rep and most customer replies: trusting the
    voices would give those replies to the rep. Against labels drawn uniformly this passed as turn-
    taking; against labels drawn at their own frequencies (12 A, 2-3 B) it does not."""
    utterances = _utterances("您好，我是明远科技的顾问李明。", "你好。", "咱们现在有几个仓库？", "三个。",
                             "您平时怎么管库存呢？", "用表格。", "我们的系统可以自动盘点。", "价格多少钱？",
                             "一年三万。", "有点贵了。", "理解，我们可以先试用。", "行。",
                             "我下周二把方案发给您。", "好的。")
    assert not voices_take_turns(utterances, list("AAABAAABAAABAA"))
    assert not voices_take_turns(utterances, list("ABABABAAAAAAAA"))  # split well, then merged
    assert voices_take_turns(utterances, list("AB" * 7))


def test_voice_labels_are_trusted_when_too_few_pauses_test_them() -> None:
    """Quick hand-overs leave few pauses: the diarization is all there is to go on."""
    assert voices_take_turns(_utterances("嗯。", "好。", "行。"), ["A", "A", "B"])
