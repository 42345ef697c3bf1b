"""Turn cutting and text clean-up rules, on hand-built word timings."""

from __future__ import annotations

import pytest

from callscope.asr.decoding import uncovered_speech
from callscope.asr.text import chinese_punctuation, collapse_loops, text_language, to_simplified
from callscope.asr.turns import (
    Span,
    SpeakerWord,
    assign_speakers,
    build_turns,
    smooth_within_regions,
    snap_to_regions,
)
from callscope.models.document import Turn, Word

ROLES = {"S0": "rep", "S1": "customer"}


def _w(start: float, end: float, text: str, speaker: str = "S0") -> SpeakerWord:
    return SpeakerWord(Word(start, end, text), speaker, 0 if speaker == "S0" else 1)


def test_turns_cut_at_speaker_change_and_long_pause() -> None:
    words = [
        _w(0.0, 0.5, "您好"), _w(0.6, 1.0, "，我是"), _w(1.1, 1.6, "李明"),
        _w(1.8, 2.2, "你好", "S1"),
        _w(2.5, 3.0, "我们"), _w(3.1, 3.5, "做仓储"),
        _w(5.5, 6.0, "您那边"), _w(6.1, 6.6, "多少人？"),  # 2 s pause: a new turn
    ]
    turns = build_turns(list(reversed(words)), ROLES)
    # a turn ends a sentence: a full stop is added where Whisper wrote none
    assert [t.text for t in turns] == ["您好，我是李明。", "你好。", "我们做仓储。", "您那边多少人？"]
    assert [t.role for t in turns] == ["rep", "customer", "rep", "rep"]
    assert turns[1].channel == 1 and turns[0].start == 0.0 and turns[0].end == 1.6


def test_english_words_keep_their_spaces() -> None:
    turns = build_turns([_w(0, 0.3, " We"), _w(0.3, 0.6, " are"), _w(0.6, 1.0, " looking.")], ROLES)
    assert turns[0].text == "We are looking." and turns[0].language == "en"


def test_words_go_to_the_speaker_they_overlap_most() -> None:
    spans = [Span(0.0, 2.0, "S0"), Span(2.0, 4.0, "S1")]
    words = [Word(0.1, 0.5, "a"), Word(1.8, 2.6, "b"), Word(4.5, 4.8, "c")]
    assert [sw.speaker for sw in assign_speakers(words, spans)] == ["S0", "S1", "S1"]


def test_simplified_and_chinese_punctuation() -> None:
    assert to_simplified("這個價錢太貴了") == "这个价钱太贵了"
    assert to_simplified("CRM is great") == "CRM is great"
    assert chinese_punctuation("好的,下周二见?可以.") == "好的，下周二见？可以。"
    assert chinese_punctuation("version 2.5, ok?") == "version 2.5, ok?"


def test_loops_collapse() -> None:
    assert collapse_loops("好的好的好的好的好的好的我们") == ("好的我们", 1)
    assert collapse_loops("谢谢谢谢") == ("谢谢谢谢", 0)  # doubled words are speech


def test_language_of_text() -> None:
    assert text_language("我们也在看 Salesforce") == "zh"
    assert text_language("We are also looking at Salesforce") == "en"


def test_uncovered_speech_finds_dropped_sentences() -> None:
    speech = [(0.0, 10.0)]
    words = [Word(0.2, 0.8, "a"), Word(1.0, 2.0, "b"), Word(8.0, 9.8, "c")]
    assert uncovered_speech(speech, words) == [(2.4, 7.6)]
    assert uncovered_speech([(0.0, 0.9)], []) == []  # too short to bother (from 1 s a region must)


def test_a_stray_unlikely_word_does_not_cover_a_sentence() -> None:
    # the mixed sample's "…looking at Salesforce. It is the industry standard." once decoded its second
    # sentence as one 数 (p 0.24): heard as covered, the second look never ran
    speech = [(26.3, 31.1)]
    words = [Word(26.4, 28.7, "looking at Salesforce.", 0.9), Word(29.15, 29.55, "数", 0.24)]
    assert uncovered_speech(speech, words) == [(pytest.approx(29.1), 31.1)]
    words[1].probability = 0.6
    assert uncovered_speech(speech, words) == []


def test_short_speaker_flips_inside_one_stretch_of_speech_are_smoothed() -> None:
    words = [_w(0.0, 1.0, "我们"), _w(1.0, 1.3, "的", "S1"), _w(1.3, 2.5, "系统"),  # a 0.3 s flip: noise
             _w(3.0, 5.0, "听起来不错", "S1")]  # 2 s of the other speaker without a pause: real
    smooth_within_regions(words, [(0.0, 5.0)])
    assert [sw.speaker for sw in words] == ["S0", "S0", "S0", "S1"]


def test_a_loop_of_a_three_word_unit_is_collapsed() -> None:
    """Whisper looping on "女傅子" forty times: the words are single characters, the unit is three."""
    from callscope.asr.decoding import LOOP_REPEATS, _collapse

    texts = list("我们的老师") + list("女傅子") * 40 + list("好的")
    words = [Word(start=i * 0.3, end=i * 0.3 + 0.25, text=t, probability=0.5) for i, t in enumerate(texts)]
    kept, collapsed = _collapse(words)
    text = "".join(w.text for w in kept)
    assert text == "我们的老师" + "女傅子" * (LOOP_REPEATS - 1) + "好的" and collapsed > 0
    ordinary = [Word(start=i, end=i + 0.5, text=t, probability=0.9) for i, t in enumerate("对对对，好的好的")]
    assert _collapse(ordinary)[0] == ordinary


def test_mono_turns_snap_to_the_speech_regions_without_overlapping() -> None:
    turns = [Turn(0.5, 2.0, "S0", "rep", "a"), Turn(2.6, 3.5, "S1", "customer", "b"),
             Turn(6.2, 7.0, "S0", "rep", "c")]
    snap_to_regions(turns, [(0.2, 4.0), (6.0, 8.0)])
    # word times clip the voice; the region edges are where it starts and stops, up to the neighbours
    assert [(t.start, t.end) for t in turns] == [(0.2, 2.6), (2.6, 4.0), (6.0, 8.0)]
