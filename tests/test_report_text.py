"""The text report (`callscope analyze --format text`) for zh and en calls."""

from __future__ import annotations

import re
import unicodedata

from callscope.models.document import Analysis
from callscope.report import mmss, render_text
from callscope.scoring import load_rubric, score
from tests.test_scoring_calls import bad_en, good_zh


def _analysis(conv, rubric: str = "default") -> Analysis:
    return Analysis(conv, score(conv, load_rubric(rubric)))


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _in_order(report: str, *headings: str) -> bool:
    positions = [report.index(f"\n{h}\n") for h in headings]
    return positions == sorted(positions)


def test_zh_report_has_every_section_in_coaching_order() -> None:
    report = render_text(_analysis(good_zh()), source="/data/calls/zh-demo.stereo.flac")
    assert report.startswith("通话分析报告\n")
    assert "文件      zh-demo.stereo.flac" in report
    assert "阶段      需求分析（置信度 80%）" in report
    assert "得分      100.0 / 100 · 优秀" in report
    assert _in_order(report, "评分卡", "  做得好的", "客户异议", "下一步", "关键指标", "逐字稿")
    assert "✓ 开场白" in report and "开场清晰" in report
    assert "00:30  价格异议  已处理  「预算大概二十万左右。不过你们的价格太贵了吧。」" in report
    assert "00:55  下周二下午三点" in report
    assert "销售说话占比  57%" in report and "35%–65%" in report
    assert "  00:00  销售  您好，我是明远科技的顾问林晓" in report
    assert "\033[" not in report  # not a terminal: plain text


def test_en_report_puts_strengths_before_improvements_with_evidence_times() -> None:
    report = render_text(_analysis(bad_en()))
    assert report.startswith("Call report\n")
    assert _in_order(report, "  Strengths", "  To improve", "Objections", "Next steps", "Key metrics",
                     "Transcript")
    improvements = report[report.index("To improve"):report.index("Objections")]
    # the biggest loss first, with the moment and the coaching sentence
    assert improvements.index("Needs discovery") < improvements.index("No long monologues")
    assert "00:06–01:36  \"Let me walk you through every feature" in improvements
    assert "Your longest monologue ran 90 seconds (limit 56)" in improvements
    assert "01:36  competitor  not handled" in report
    assert "Next steps\n  (none)" in report
    assert "  01:50  Customer  Okay, bye." in report
    assert all(line.isascii() for line in report.splitlines() if "✓" not in line and "✗" not in line
               and "–" not in line and "…" not in line and "≤" not in line and "≥" not in line
               and "·" not in line)


def test_metric_table_columns_line_up_in_display_width() -> None:
    cases = ((good_zh(), "关键指标", "本通话"), (bad_en(), "Key metrics", "This call"))
    for conv, heading, this_call in cases:
        lines = render_text(_analysis(conv)).splitlines()
        start = lines.index(heading)
        header, rows = lines[start + 1], lines[start + 2:start + 9]
        value_column = _columns(header[:header.index(this_call)])
        for row in rows:
            match = re.match(r"^  (.+?) {2,}(\S.*)$", row)
            assert match, row
            assert _columns(row[:match.start(2)]) == value_column, row


def test_report_language_override_rescores_the_feedback() -> None:
    report = render_text(_analysis(good_zh()), lang="en")
    assert report.startswith("Call report\n")
    assert "Clear opening: within 30 seconds you gave your name, your company, the reason for" in report
    assert "Score     100.0 / 100 · Excellent" in report
    assert "  00:00  Rep       您好" in report  # the transcript stays as said


def test_colour_only_when_asked() -> None:
    analysis = _analysis(bad_en())
    coloured = render_text(analysis, color=True)
    assert "\033[32m✓\033[0m" in coloured and "\033[31m✗\033[0m" in coloured
    assert "\033[" not in render_text(analysis, color=False)


def test_qa_strict_report_shows_its_grade() -> None:
    report = render_text(_analysis(good_zh(), "qa-strict"))
    assert "评分标准  qa-strict" in report
    assert "✗ 录音告知" in report


def test_mmss() -> None:
    assert mmss(0) == "00:00" and mmss(65.4) == "01:05" and mmss(3725) == "1:02:05"
