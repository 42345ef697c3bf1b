"""The readable report of one analysed call (`callscope analyze --format text`), in zh or en.

Order follows the coaching advice in docs/domain.md: the scorecard first, strengths before
improvements, each improvement with the moments (mm:ss) that decided it and what to do next time.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from pathlib import Path

from callscope.models.document import Analysis, Evidence, ItemResult, Scorecard, Transcript
from callscope.scoring.cues import label

WIDTH = 100  # columns a line is wrapped at

UI = {
    "zh": {
        "title": "通话分析报告", "file": "文件", "duration": "时长", "language": "语言",
        "stage": "阶段", "confidence": "置信度", "score": "得分", "rubric": "评分标准", "version": "版本",
        "scorecard": "评分卡", "strengths": "做得好的", "improvements": "待改进",
        "not_applicable": "不适用", "objections": "客户异议", "handled": "已处理", "unhandled": "未处理",
        "response": "回应", "next_steps": "下一步", "none": "（无）", "metrics": "关键指标",
        "this_call": "本通话", "target": "目标", "talk_ratio": "销售说话占比",
        "longest_monologue": "最长独白", "questions": "销售提问", "open_questions": "开放式问题",
        "interactivity": "互动频率", "patience": "回应前停顿", "customer_questions": "客户提问",
        "transcript": "逐字稿", "seconds": "秒", "per_minute": "/分钟", "switches": "次/分钟",
        "quote": "「{}」", "paren": "（{}）", "unheard": "（约 {} 秒未能可靠转写）",
    },
    "en": {
        "title": "Call report", "file": "File", "duration": "Duration", "language": "Language",
        "stage": "Stage", "confidence": "confidence", "score": "Score", "rubric": "Rubric",
        "version": "version", "scorecard": "Scorecard", "strengths": "Strengths",
        "improvements": "To improve", "not_applicable": "Not applicable", "objections": "Objections",
        "handled": "handled", "unhandled": "not handled", "response": "answer",
        "next_steps": "Next steps", "none": "(none)", "metrics": "Key metrics", "this_call": "This call",
        "target": "Target", "talk_ratio": "Rep talk ratio", "longest_monologue": "Longest monologue",
        "questions": "Rep questions", "open_questions": "Open questions",
        "interactivity": "Interactivity", "patience": "Pause before answering",
        "customer_questions": "Customer questions", "transcript": "Transcript", "seconds": "s",
        "per_minute": "/min", "switches": "switches/min", "quote": "\"{}\"", "paren": " ({})",
        "unheard": "(about {} s could not be transcribed reliably)",
    },
}


# --- layout helpers -----------------------------------------------------------------------------


def _width(text: str) -> int:
    """Display columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


_CHUNK = re.compile(r"[\x21-\x7e]+|\s+|.")  # a Latin word (kept whole), a run of spaces, or one character
_NO_LINE_START = set("，。、；：？！）」』”’,.;:?!)")  # punctuation that must not begin a line


def _wrap(text: str, indent: int, first_indent: int | None = None) -> list[str]:
    """Wrap by display width: between Latin words, or between any two Chinese characters."""
    first = indent if first_indent is None else first_indent
    lines, line, room = [], "", WIDTH - first
    for chunk in _CHUNK.findall(" ".join(text.split())):
        fits = _width(line + chunk) <= room or chunk[0] in _NO_LINE_START or not line.strip()
        if fits:
            line += chunk
            continue
        lines.append(line.rstrip())
        line, room = ("" if chunk.isspace() else chunk), WIDTH - indent
    lines.append(line.rstrip())
    return [(" " * (first if i == 0 else indent)) + ln for i, ln in enumerate(lines)]


def _points(value: float) -> str:
    return f"{round(value, 1):g}"


def mmss(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _span(ev: Evidence) -> str:
    return mmss(ev.start) if ev.end - ev.start < 1 else f"{mmss(ev.start)}–{mmss(ev.end)}"


def _clip(text: str, columns: int) -> str:
    text = " ".join(text.split())
    if _width(text) <= columns:
        return text
    out = ""
    for char in text:
        if _width(out + char) > columns - 1:
            break
        out += char
    return out + "…"


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _sgr(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def heading(self, text: str) -> str:
        return self._sgr("1", text)

    def good(self, text: str) -> str:
        return self._sgr("32", text)

    def bad(self, text: str) -> str:
        return self._sgr("31", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)


def _use_color(color: bool | None) -> bool:
    if color is not None:
        return color
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


# --- sections -----------------------------------------------------------------------------------


def _localized_scorecard(analysis: Analysis, lang: str) -> Scorecard:
    """The scorecard with feedback in `lang`: re-scored when the same rubric text can be loaded."""
    card = analysis.scorecard
    if card.language == lang:
        return card
    from callscope.core.errors import RubricError
    from callscope.scoring import load_rubric, score

    try:
        rubric = load_rubric(card.rubric)
    except RubricError:
        return card
    if rubric.version != card.rubric_version or lang not in rubric.languages:
        return card
    return score(analysis.conversation, rubric, lang)


def _header(analysis: Analysis, card: Scorecard, t: dict[str, str], lang: str, source: str | None,
            st: _Style) -> list[str]:
    conv, tr = analysis.conversation, analysis.transcript
    rows = []
    if source:
        rows.append((t["file"], Path(source).name))
    rows.append((t["duration"], mmss(tr.duration)))
    rows.append((t["language"], label("languages", tr.language, lang)))
    confidence = conv.stage_scores.get(conv.stage)
    stage = label("stages", conv.stage, lang)
    if confidence is not None:
        stage += t["paren"].format(f"{t['confidence']} {confidence:.0%}")
    rows.append((t["stage"], stage))
    grade = card.grade_label or card.grade
    rows.append((t["score"], f"{card.score:.1f} / 100 · {grade}"))
    version = t["paren"].format(f"{t['version']} {card.rubric_version}") if card.rubric_version else ""
    rows.append((t["rubric"], card.rubric + version))
    key_width = max(_width(k) for k, _ in rows) + 2
    return [st.heading(t["title"]), "=" * _width(t["title"])] + [f"{_pad(k, key_width)}{v}" for k, v in rows]


def _item_lines(item: ItemResult, mark: str, t: dict[str, str], name_width: int) -> list[str]:
    points = f"{_points(item.score)} / {_points(item.max)}"
    lines = [f"    {mark} {_pad(item.name, name_width)}  {points}"]
    lines += _wrap(item.feedback, 8)
    for ev in item.evidence:
        lines.append(f"        {_pad(_span(ev), 13)}{t['quote'].format(_clip(ev.text, WIDTH - 25))}")
    return lines


def _scorecard(card: Scorecard, t: dict[str, str], st: _Style) -> list[str]:
    strengths = [i for i in card.items if i.passed]
    # biggest losses first: what is worth the rep's attention most
    improvements = sorted((i for i in card.items if i.passed is False), key=lambda i: i.score - i.max)
    skipped = [i for i in card.items if i.passed is None]
    name_width = max((_width(i.name) for i in card.items), default=0)
    lines = ["", st.heading(t["scorecard"])]
    if strengths:
        lines.append(f"  {t['strengths']}")
        for item in strengths:
            lines += _item_lines(item, st.good("✓"), t, name_width)
    if improvements:
        lines.append(f"  {t['improvements']}")
        for item in improvements:
            lines += _item_lines(item, st.bad("✗"), t, name_width)
    if skipped:
        lines.append(f"  {t['not_applicable']}")
        for item in skipped:
            lines.append(f"    – {_pad(item.name, name_width)}  {st.dim(item.feedback)}")
    return lines


def _objections(analysis: Analysis, t: dict[str, str], lang: str, st: _Style) -> list[str]:
    lines = ["", st.heading(t["objections"])]
    objections = analysis.conversation.objections
    if not objections:
        return [*lines, f"  {t['none']}"]
    type_width = max(_width(label("objections", o.type, lang)) for o in objections)
    status_width = max(_width(t["handled"]), _width(t["unhandled"]))
    for o in objections:
        status = st.good(_pad(t["handled"], status_width)) if o.handled else st.bad(_pad(t["unhandled"],
                                                                                         status_width))
        kind = _pad(label("objections", o.type, lang), type_width)
        lines.append(f"  {mmss(o.start)}  {kind}  {status}  {t['quote'].format(_clip(o.text, 60))}")
        if o.response:
            lines.append(f"  {' ' * 7}{t['response']} {mmss(o.response.start)}  "
                         f"{t['quote'].format(_clip(o.response.text, 60))}")
    return lines


def _next_steps(analysis: Analysis, t: dict[str, str], st: _Style) -> list[str]:
    lines = ["", st.heading(t["next_steps"])]
    steps = analysis.conversation.next_steps
    if not steps:
        return [*lines, f"  {t['none']}"]
    when_width = max(_width(s.when) for s in steps)
    return lines + [f"  {mmss(s.start)}  {_pad(s.when, when_width)}  {t['quote'].format(_clip(s.text, 60))}"
                    for s in steps]


def _metrics(analysis: Analysis, card: Scorecard, t: dict[str, str], st: _Style) -> list[str]:
    m = analysis.conversation.metrics
    targets, sec = card.targets, t["seconds"]
    open_count = m.open_questions  # counted as the scorecard counts (nlp.questions.count_questions)
    band = targets.get("talk_ratio")
    mono = targets.get("longest_monologue")
    open_target = targets.get("open_questions")
    question_target = targets.get("questions")  # a rubric that counts every question about the customer
    rows = [
        (t["talk_ratio"], f"{m.talk_ratio:.0%}", f"{band['min']:.0%}–{band['max']:.0%}" if band else ""),
        (t["longest_monologue"], f"{m.longest_monologue:.0f} {sec}",
         f"≤ {mono['max']:g} {sec}" if mono else ""),
        (t["questions"], str(m.questions) + t["paren"].format(f"{m.question_rate:.1f}{t['per_minute']}"),
         f"≥ {question_target['min']}" if question_target else ""),
        (t["open_questions"], str(open_count), f"≥ {open_target['min']}" if open_target else ""),
        (t["customer_questions"], str(m.customer_questions), ""),
        (t["interactivity"], f"{m.interactivity:.1f} {t['switches']}", ""),
        (t["patience"], f"{m.patience:.1f} {sec}", ""),
    ]
    w1 = max(_width(r[0]) for r in [*rows, (t["metrics"], "", "")]) + 2
    w2 = max(_width(r[1]) for r in [*rows, ("", t["this_call"], "")]) + 2
    lines = ["", st.heading(t["metrics"]), f"  {_pad('', w1)}{_pad(t['this_call'], w2)}{t['target']}"]
    return lines + [f"  {_pad(name, w1)}{_pad(value, w2)}{target}".rstrip() for name, value, target in rows]


def _transcript(analysis: Analysis, lang: str, st: _Style) -> list[str]:
    t = UI[lang]
    turns = analysis.transcript.turns
    role_width = max((_width(label("roles", r, lang)) for r in ("rep", "customer")), default=0)
    lines = ["", st.heading(t["transcript"])]
    if not turns:
        lines.append(f"  {t['none']}")
    rows = [(turn.start, turn.role, turn.text) for turn in turns]
    rows += [(a, role, t["unheard"].format(f"{b - a:.0f}" if b - a >= 1.5 else f"{b - a:.1f}"))
             for a, b, role in _unheard(analysis.transcript)]
    for start, role, text in sorted(rows, key=lambda r: r[0]):
        head = f"  {mmss(start)}  {_pad(label('roles', role, lang), role_width)}  "
        body = _wrap(text, _width(head), first_indent=0)
        lines.append(head + body[0])
        lines += body[1:]
    return lines


def _unheard(transcript: Transcript) -> list[tuple[float, float, str]]:
    """The speech the recogniser left unheard (asr.decoding: no word heard, or a drift dropped), with the
    role of its channel (stereo) or of the turn nearest it (mono), so the reader sees where words are
    missing instead of a silent hole."""
    out = []
    for channel in transcript.asr.get("channels") or []:
        same = [t for t in transcript.turns if transcript.layout == "mono" or t.channel == channel["channel"]]
        for a, b in channel.get("unheard_speech") or []:
            near = min(same, key=lambda t: max(t.start - b, a - t.end, 0.0), default=None)
            if near is not None:
                out.append((a, b, near.role))
    return out


def render_text(analysis: Analysis, lang: str | None = None, source: str | None = None,
                color: bool | None = None) -> str:
    """The report as plain text (ANSI colours only when `color`, by default when stdout is a terminal)."""
    if lang not in UI:
        lang = analysis.transcript.language if analysis.transcript.language in UI else "en"
    t, st = UI[lang], _Style(_use_color(color))
    card = _localized_scorecard(analysis, lang)
    source = source or analysis.transcript.asr.get("source")
    lines = _header(analysis, card, t, lang, source, st)
    lines += _scorecard(card, t, st)
    lines += _objections(analysis, t, lang, st)
    lines += _next_steps(analysis, t, st)
    lines += _metrics(analysis, card, t, st)
    lines += _transcript(analysis, lang, st)
    return "\n".join(line.rstrip() for line in lines) + "\n"
