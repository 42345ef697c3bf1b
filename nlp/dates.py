"""Next-step dates: the day (and time, where said) a time expression points at, counted from the call's
start in the call's local time zone. The words said are kept beside the date.

English goes to `dateparser` (maintained, many forms) after a few sales forms it lacks are read here
(end of month, by end of day Thursday, the Monday after next). Chinese is read by the small resolver
below over the forms sales calls use (下周二下午, 十五号之前, 月底, 明早, 年后, 今天下班前, 三个工作日内…),
with `chinese-calendar` for 节假日 and working days (年后 is the first working day after the Spring
Festival holiday; 节后 after the next public holiday; 工作日 skips weekends and holidays and counts the
调休 Saturdays). jionlp's time parser was judged and not used: with its segmenter it adds ~170 MB to
the install, and on these forms it misses 月底, 明早, 年后 and puts 十五号之前 in the past.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
_NUM = "零〇一二两三四五六七八九十0-9"
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9}
_WEEKDAY_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAY_EN = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_PARTS = (  # part of day -> the hour a meeting "in the afternoon" is taken to start
    ("下班前", 18), ("下班", 18), ("早上", 9), ("早晨", 9), ("上午", 9), ("中午", 12), ("午饭后", 13),
    ("下午", 14), ("傍晚", 17), ("晚上", 19), ("今晚", 19), ("明晚", 19), ("明早", 9), ("今早", 9), ("早", 9),
    ("晚", 19),
)
# Lunar new year days past chinese-calendar's data (it covers the years the State Council has announced)
_SPRING_FESTIVAL = {2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
                    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
                    2033: date(2033, 1, 31), 2034: date(2034, 2, 19), 2035: date(2035, 2, 8)}


@dataclass
class Resolved:
    said: str
    date: date
    time: time | None = None
    by: bool = False  # a deadline (之前, by): the step is due on or before the date

    def to_dict(self) -> dict[str, Any]:
        return {"said": self.said, "date": self.date.isoformat(),
                "time": self.time.strftime("%H:%M") if self.time else None, "by": self.by}


def zh_number(text: str) -> int | None:
    """一 .. 九十九 and Arabic digits."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (_DIGITS.get(tens, 0) if tens else 1) * 10
        return value + (_DIGITS.get(ones, 0) if ones else 0)
    if all(c in _DIGITS for c in text):
        value = 0
        for c in text:
            value = value * 10 + _DIGITS[c]
        return value
    return None


# --- working days and holidays ------------------------------------------------------------------


def _calendar_detail(day: date) -> tuple[bool, str | None] | None:
    """(is holiday or weekend off, holiday name) from chinese-calendar, None past its data."""
    import chinese_calendar

    try:
        return chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None


def is_workday(day: date) -> bool:
    detail = _calendar_detail(day)
    if detail is not None:
        return not detail[0]
    festival = _SPRING_FESTIVAL.get(day.year)
    if festival and festival - timedelta(days=1) <= day <= festival + timedelta(days=6):
        return False
    return day.weekday() < 5


def add_workdays(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def _first_workday_after_holiday(day: date, name: str | None, limit_days: int = 400) -> date | None:
    """The first working day after the next holiday named name (any public holiday when None),
    from day on."""
    current, in_holiday = day, False
    for _ in range(limit_days):
        detail = _calendar_detail(current)
        if detail is None:
            festival = _SPRING_FESTIVAL.get(current.year)
            if name in (None, "Spring Festival") and festival and festival >= day:
                return add_workdays(festival + timedelta(days=6), 1)
            if festival and festival < day:  # past this year's: the next year's
                nxt = _SPRING_FESTIVAL.get(current.year + 1)
                if nxt and name in (None, "Spring Festival"):
                    return add_workdays(nxt + timedelta(days=6), 1)
            return None
        holiday, holiday_name = detail
        matching = holiday and holiday_name is not None and (name is None or holiday_name == name)
        if matching:
            in_holiday = True
        elif in_holiday and not holiday:
            return current
        current += timedelta(days=1)
    return None


# --- Chinese -----------------------------------------------------------------------------------


_ZH_CLOCK = re.compile(rf"([{_NUM}]{{1,3}})\s*(?:点|:|：|時|时)(半|[{_NUM}]{{1,3}}分?|一刻|三刻)?")
_ZH_WEEKDAY = re.compile(r"(下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)([一二三四五六日天末])")
_ZH_WEEK = re.compile(r"(下下个?|下个?|这个?|本)(?:周|星期|礼拜)(内|之内|以内|末|底)?")
_ZH_MONTH_DAY = re.compile(rf"(?:(下下个?|下个?|这个?|本|([{_NUM}]{{1,2}}))月份?)?([{_NUM}]{{1,3}})\s*[号日]")
_ZH_MONTH_PART = re.compile(r"(下下个?|下个?|这个?|本)?月(底|末|初|中|中旬|上旬|下旬)")
_ZH_AFTER = re.compile(rf"([{_NUM}]{{1,3}}|半)\s*(?:个)?(天|日|周|星期|礼拜|个?月|工作日)"
                       r"(?:之?后|以后|之?内|以内)")
_ZH_RELATIVE_DAYS = (("大后天", 3), ("后天", 2), ("明天", 1), ("明日", 1), ("明儿", 1), ("明早", 1),
                     ("明晚", 1), ("今天", 0), ("今日", 0), ("今晚", 0), ("今早", 0), ("当天", 0))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_last(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _shift(prefix: str | None) -> int | None:
    if not prefix:
        return None
    if prefix.startswith("下下"):
        return 2
    if prefix.startswith("下"):
        return 1
    if prefix.startswith("上"):
        return -1
    return 0


def _zh_clock(text: str, part_hour: int | None) -> time | None:
    m = _ZH_CLOCK.search(text)
    if m:
        hour = zh_number(m.group(1))
        if hour is None or hour > 24:
            return None
        minute = 0
        extra = m.group(2) or ""
        if extra == "半":
            minute = 30
        elif extra == "一刻":
            minute = 15
        elif extra == "三刻":
            minute = 45
        elif extra:
            minute = zh_number(extra.rstrip("分")) or 0
        if part_hour is not None and part_hour >= 12 and hour < 12:
            hour += 12  # 下午三点
        elif part_hour is None and 1 <= hour <= 6:
            hour += 12  # 三点 said of a meeting is 15:00
        return time(hour % 24, min(minute, 59))
    return time(part_hour) if part_hour is not None else None


def _zh_part(text: str) -> int | None:
    return next((hour for word, hour in _PARTS if word in text), None)


def _zh_day(text: str, today: date) -> date | None:
    for word, days in _ZH_RELATIVE_DAYS:
        if word in text:
            return today + timedelta(days=days)
    m = _ZH_AFTER.search(text)
    if m:
        n = 0.5 if m.group(1) == "半" else zh_number(m.group(1))
        unit = m.group(2)
        if n is not None:
            if unit == "工作日":
                return add_workdays(today, int(n))
            if unit in ("天", "日"):
                return today + timedelta(days=int(n))
            if unit in ("周", "星期", "礼拜"):
                return today + timedelta(days=int(7 * n))
            if n == 0.5:
                return today + timedelta(days=15)
            year, month = _add_months(today, int(n))
            return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    m = _ZH_WEEKDAY.search(text)
    if m:
        weekday = _WEEKDAY_ZH[m.group(2)]
        shift = _shift(m.group(1))
        if shift is None:  # 周五: the coming one
            ahead = (weekday - today.weekday()) % 7
            return today + timedelta(days=ahead)
        return _week_start(today) + timedelta(days=7 * shift + weekday)
    m = _ZH_WEEK.search(text)
    if m:
        shift = _shift(m.group(1)) or 0
        monday = _week_start(today) + timedelta(days=7 * shift)
        if m.group(2) in ("末",):
            return monday + timedelta(days=5)
        if m.group(2) or shift == 0:  # 这周内, 下周之内, 下周底: the week's last working day
            return monday + timedelta(days=4)
        return monday  # 下周: next week, from its Monday
    m = _ZH_MONTH_PART.search(text)
    if m:
        shift = _shift(m.group(1))
        part = m.group(2)
        if shift is None and part in ("初", "上旬"):
            shift = 1 if today.day > 10 else 0
        elif shift is None and part in ("中", "中旬"):
            shift = 1 if today.day > 20 else 0
        year, month = _add_months(today, shift or 0)
        if part in ("底", "末", "下旬"):
            return _month_last(year, month)
        if part in ("初", "上旬"):
            return date(year, month, 5 if part == "初" else 10)
        return date(year, month, 15)
    m = _ZH_MONTH_DAY.search(text)
    if m:
        day_n = zh_number(m.group(3))
        if day_n is None or not 1 <= day_n <= 31:
            return None
        if m.group(2):  # 12月3号
            month = zh_number(m.group(2))
            if month is None or not 1 <= month <= 12:
                return None
            year = today.year if (month, day_n) >= (today.month, today.day) else today.year + 1
            return date(year, month, min(day_n, calendar.monthrange(year, month)[1]))
        shift = _shift(m.group(1))
        if shift is None:
            shift = 0 if day_n >= today.day else 1  # 十五号 said on the 25th: next month's
        year, month = _add_months(today, shift)
        return date(year, month, min(day_n, calendar.monthrange(year, month)[1]))
    if "年后" in text or "过完年" in text or "春节后" in text or "春节以后" in text:
        return _first_workday_after_holiday(today, "Spring Festival")
    if "国庆后" in text or "国庆以后" in text or "十一后" in text:
        return _first_workday_after_holiday(today, "National Day")
    if "节后" in text:
        return _first_workday_after_holiday(today, None)
    if "年底" in text or "年末" in text:
        return date(today.year, 12, 31)
    if "周末" in text:
        return _week_start(today) + timedelta(days=5)
    if "下班" in text:
        return today
    return None


def _resolve_zh(said: str, local: datetime) -> Resolved | None:
    text = re.sub(r"\s+", "", said)
    day = _zh_day(text, local.date())
    part = _zh_part(text)
    if day is None:
        if part is None and not _ZH_CLOCK.search(text):
            return None
        day = local.date()
    clock = _zh_clock(text, part)
    by = any(w in text for w in ("之前", "以前", "前", "之内", "以内", "内", "截止", "为止", "最晚", "底"))
    return Resolved(said=said, date=day, time=clock, by=by)


# --- English -----------------------------------------------------------------------------------

_EN_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_EN_AFTER_NEXT = re.compile(rf"\b(?:the\s+)?({_EN_WEEKDAYS})\s+after\s+next\b")
_EN_NEXT_DAY = re.compile(rf"\bnext\s+({_EN_WEEKDAYS})\b")
_EN_DAY = re.compile(rf"\b(?:this\s+)?({_EN_WEEKDAYS})\b")
_EN_END_OF = re.compile(r"\bend\s+of\s+(?:the\s+)?(next\s+|this\s+)?(month|week|quarter|year|day)\b")
_EN_EOD = re.compile(r"\b(eod|cob|close of business|end of (?:the )?day)\b")
_EN_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)|\b(\d{1,2}):(\d{2})\b|\bnoon\b")
_EN_PARTS = (("morning", 9), ("first thing", 9), ("noon", 12), ("lunch", 12), ("afternoon", 14),
             ("evening", 19), ("tonight", 19))
_EN_BY = re.compile(r"\b(by|before|no later than|until|within)\b")


def _en_clock(text: str) -> time | None:
    m = _EN_CLOCK.search(text)
    if m:
        if m.group(0) == "noon":
            return time(12)
        if m.group(1):
            hour, minute = int(m.group(1)) % 12, int(m.group(2) or 0)
            if m.group(3).startswith("p"):
                hour += 12
            return time(hour, minute)
        return time(int(m.group(4)) % 24, int(m.group(5)))
    if _EN_EOD.search(text):
        return time(18)
    return next((time(hour) for word, hour in _EN_PARTS if word in text), None)


def _en_day(text: str, today: date) -> date | None:
    m = _EN_AFTER_NEXT.search(text)
    if m:
        return _week_start(today) + timedelta(days=14 + _WEEKDAY_EN[m.group(1)])
    m = _EN_NEXT_DAY.search(text)
    if m:
        return _week_start(today) + timedelta(days=7 + _WEEKDAY_EN[m.group(1)])
    m = _EN_END_OF.search(text)
    if m:
        shift = 1 if (m.group(1) or "").strip() == "next" else 0
        unit = m.group(2)
        if unit == "day":
            day = _EN_DAY.search(text)
            if day:
                return today + timedelta(days=(_WEEKDAY_EN[day.group(1)] - today.weekday()) % 7)
            return today
        if unit == "week":
            return _week_start(today) + timedelta(days=7 * shift + 4)
        if unit == "month":
            year, month = _add_months(today, shift)
            return _month_last(year, month)
        if unit == "quarter":
            q_end = ((today.month - 1) // 3 + 1 + shift) * 3
            year, month = _add_months(date(today.year, 1, 1), q_end - 1)
            return _month_last(year, month)
        return date(today.year + shift, 12, 31)
    m = _EN_DAY.search(text)
    if m:
        return today + timedelta(days=(_WEEKDAY_EN[m.group(1)] - today.weekday()) % 7)
    m = re.search(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\s+[a-z])", text)
    months = "|".join(name.lower()[:3] for name in calendar.month_name[1:])
    if m and not re.search(rf"\b(?:{months})[a-z]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)", text):
        day_n = int(m.group(1))
        if 1 <= day_n <= 31:
            year, month = _add_months(today, 0 if day_n >= today.day else 1)
            return date(year, month, min(day_n, calendar.monthrange(year, month)[1]))
    if re.search(r"\bnext week\b", text):
        return _week_start(today) + timedelta(days=7)
    if re.search(r"\bthis week\b", text):
        return _week_start(today) + timedelta(days=4)
    return None


@lru_cache(maxsize=1)
def _dateparser():  # noqa: ANN202 - the module, imported on first English expression
    import dateparser

    return dateparser


def _resolve_en(said: str, local: datetime) -> Resolved | None:
    text = said.lower().strip()
    by = bool(_EN_BY.search(text)) or "end of" in text or bool(_EN_EOD.search(text))
    clock = _en_clock(text)
    day = _en_day(text, local.date())
    if day is None:
        cleaned = _EN_BY.sub(" ", text)
        cleaned = re.sub(r"\b(first thing|at the latest|latest)\b", " ", cleaned).strip()
        parsed = _dateparser().parse(cleaned, languages=["en"], settings={
            "RELATIVE_BASE": local.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False}) if cleaned else None
        if parsed is None:
            if clock is None:
                return None
            day = local.date()
        else:
            day = parsed.date()
            said_time = parsed.time() not in (time(0), local.time().replace(microsecond=0))
            if clock is None and said_time:
                clock = parsed.time().replace(second=0, microsecond=0)
    return Resolved(said=said, date=day, time=clock, by=by)


def resolve(said: str, when: datetime, tz: str = DEFAULT_TZ) -> Resolved | None:
    """The date said (下周二下午, by end of day Thursday) points at, from `when` (aware; the call's
    start) in time zone tz. None when the words name no day or time."""
    if not said or not said.strip():
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    local = when.astimezone(ZoneInfo(tz))
    if re.search(r"[\u4e00-\u9fff]", said):
        return _resolve_zh(said, local)
    return _resolve_en(said, local)


def resolve_next_steps(next_steps: list[dict[str, Any]], when: datetime, tz: str = DEFAULT_TZ) -> None:
    """Each next step (analysis document form) gets "due": {"said", "date", "time", "by"} or None,
    from its "when" (or its text when no time expression was cut out)."""
    for step in next_steps:
        said = step.get("when") or ""
        found = resolve(said, when, tz) if said else None
        if found is None and step.get("text"):
            found = resolve(step["text"], when, tz)
            if found is not None and not said:
                found.said = step["text"]
        step["due"] = found.to_dict() if found else None
