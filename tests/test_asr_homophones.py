"""Mandarin homophone correction after decoding, on text as Whisper base wrote it (real dictionaries)."""

from __future__ import annotations

import pytest

from callscope.asr.homophones import correct_text, correct_words, load_lexicon
from callscope.core.config import ConfigError, Settings
from callscope.models.document import Word
from callscope.pipeline import recognizer_vocabulary

# the vocabulary the pipeline hands the recognizer (nlp's sales words)
SALES = recognizer_vocabulary()


@pytest.mark.parametrize(("decoded", "right"), [
    ("和同已经签了", "合同已经签了"),  # 和同 is no word; 合同 sounds the same
    ("明天下五三点给您回电话", "明天下午三点给您回电话"),
    ("我们的功货协议", "我们的供货协议"),
    ("这个爆架是含税的吗", "这个报价是含税的吗"),
    ("下午盖张快递寄给您", "下午盖章快递寄给您"),
    ("王经历您好", "王经理您好"),  # a surname and a title (asr/data/titles.yaml)
    ("琉总您好", "刘总您好"),
])
def test_homophones_of_sales_words_are_corrected(decoded: str, right: str) -> None:
    assert correct_text(decoded, load_lexicon(SALES)) == right


@pytest.mark.parametrize("decoded", [
    "我是诚信财税的顾问周庭",  # a name stays as decoded: no character is swapped on its own
    "片子直接传到影像系统",  # 影像 is a word: not turned into the commoner 影响
    "章总您好",  # 章 is a surname too: not rewritten into the commoner 张
    "包装太薄了",  # 太保 is a word of the general dictionary, not a sales word
])
def test_words_and_names_stay(decoded: str) -> None:
    assert correct_text(decoded, load_lexicon(SALES)) == decoded


def test_hotwords_become_targets() -> None:
    # a product name the general dictionary does not know, written with homophones by the decoder
    assert correct_text("我们一直用新源达的系统", load_lexicon(SALES)) == "我们一直用新源达的系统"
    with_hotword = load_lexicon(SALES, ("鑫源达",))
    assert correct_text("我们一直用新源达的系统", with_hotword) == "我们一直用鑫源达的系统"


def test_correct_words_keeps_words_and_timing() -> None:
    words = [Word(0.0, 0.4, "和"), Word(0.4, 0.8, "同，"), Word(0.8, 1.2, "下五"), Word(1.2, 1.5, "签合同"),
             Word(3.0, 3.4, "OK"), Word(3.4, 3.8, " fine")]
    assert correct_words(words, SALES) == 2
    assert [w.text for w in words] == ["合", "同，", "下午", "签合同", "OK", " fine"]
    assert [(w.start, w.end) for w in words][:3] == [(0.0, 0.4), (0.4, 0.8), (0.8, 1.2)]


def test_words_apart_in_time_are_read_apart() -> None:
    # 和 ends one stretch of speech and 同 starts another a second later: not the word 合同
    words = [Word(0.0, 0.4, "和"), Word(1.4, 1.8, "同")]
    assert correct_words(words, SALES) == 0


def test_correction_can_be_switched_off() -> None:
    assert Settings().correct_homophones is True
    assert Settings.from_env({"CALLSCOPE_CORRECT_HOMOPHONES": "false"}).correct_homophones is False
    with pytest.raises(ConfigError, match="CALLSCOPE_CORRECT_HOMOPHONES='maybe': expected bool"):
        Settings.from_env({"CALLSCOPE_CORRECT_HOMOPHONES": "maybe"})


def test_without_the_sales_vocabulary_only_hotwords_and_addresses_are_targets() -> None:
    assert correct_text("和同已经签了", load_lexicon()) == "和同已经签了"
    assert correct_text("王经历您好", load_lexicon()) == "王经理您好"
