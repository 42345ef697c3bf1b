"""Next-step dates resolved from the words said, against a fixed call start in its local time zone:
Wednesday 2026-11-25 10:00 in Shanghai (02:00 UTC)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from callscope.nlp.dates import add_workdays, is_workday, resolve, resolve_next_steps

CALL = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # Wed 10:00 Asia/Shanghai

# said, expected date, expected time (None: no time said), a deadline?
TABLE = [
    ("下周二下午", "2026-12-01", "14:00", False),
    ("下周二下午三点", "2026-12-01", "15:00", False),
    ("十五号之前", "2026-12-15", None, True),
    ("月底", "2026-11-30", None, True),
    ("下个月底", "2026-12-31", None, True),
    ("明早", "2026-11-26", "09:00", False),
    ("明天上午十点半", "2026-11-26", "10:30", False),
    ("年后", "2027-02-15", None, False),
    ("今天下班前", "2026-11-25", "18:00", True),
    ("周五之前", "2026-11-27", None, True),
    ("下下周一", "2026-12-07", None, False),
    ("后天", "2026-11-27", None, False),
    ("大后天下午两点", "2026-11-28", "14:00", False),
    ("三天后", "2026-11-28", None, False),
    ("两周后", "2026-12-09", None, False),
    ("一个月后", "2026-12-25", None, False),
    ("三个工作日内", "2026-11-30", None, True),
    ("这周内", "2026-11-27", None, True),
    ("下周", "2026-11-30", None, False),
    ("周末", "2026-11-28", None, False),
    ("下个月初", "2026-12-05", None, False),
    ("12月3号", "2026-12-03", None, False),
    ("三十号", "2026-11-30", None, False),
    ("今晚八点", "2026-11-25", "20:00", False),
    ("下星期三上午", "2026-12-02", "09:00", False),
    ("礼拜四", "2026-11-26", None, False),
    ("年底之前", "2026-12-31", None, True),
    ("next Tuesday", "2026-12-01", None, False),
    ("end of month", "2026-11-30", None, True),
    ("by end of day Thursday", "2026-11-26", "18:00", True),
    ("the Monday after next", "2026-12-07", None, False),
    ("tomorrow morning", "2026-11-26", "09:00", False),
    ("by Friday", "2026-11-27", None, True),
    ("next Tuesday at 3 pm", "2026-12-01", "15:00", False),
    ("in two weeks", "2026-12-09", None, False),
    ("by the 15th", "2026-12-15", None, True),
    ("December 3rd", "2026-12-03", None, False),
    ("end of next week", "2026-12-04", None, True),
    ("3 pm tomorrow", "2026-11-26", "15:00", False),
    ("next week", "2026-11-30", None, False),
]


@pytest.mark.parametrize(("said", "day", "clock", "by"), TABLE, ids=[row[0] for row in TABLE])
def test_expression_resolves_to_its_date(said, day, clock, by):
    got = resolve(said, CALL)
    assert got is not None, said
    assert got.to_dict() == {"said": said, "date": day, "time": clock, "by": by}


def test_local_time_zone_decides_the_day():
    late = datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)  # already Thursday 01:00 in Shanghai
    assert resolve("明天", late).date.isoformat() == "2026-11-27"
    assert resolve("明天", late, tz="UTC").date.isoformat() == "2026-11-26"


def test_no_time_said_is_none():
    assert resolve("找时间再聊", CALL) is None
    assert resolve("let's keep in touch", CALL) is None


def test_working_days_follow_the_official_calendar():
    assert not is_workday(datetime(2026, 10, 1).date())  # National Day
    assert is_workday(datetime(2026, 10, 10).date())  # a 调休 Saturday
    assert add_workdays(datetime(2026, 9, 30).date(), 1).isoformat() == "2026-10-08"
    assert not is_workday(datetime(2026, 10, 11).date())  # a Sunday


def test_steps_keep_the_words_beside_the_date():
    steps = [{"text": "下周二下午给您演示", "when": "下周二下午", "start": 3.0},
             {"text": "好的再联系", "when": "", "start": 9.0}]
    resolve_next_steps(steps, CALL)
    assert steps[0]["due"] == {"said": "下周二下午", "date": "2026-12-01", "time": "14:00", "by": False}
    assert steps[1]["due"] is None
