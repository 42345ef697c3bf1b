"""Timed words -> speaker turns: a turn ends where another speaker talks or the speaker pauses long."""

from __future__ import annotations

from dataclasses import dataclass

from callscope.asr.punctuation import punctuate_zh
from callscope.asr.text import join_words, text_language
from callscope.models.document import Role, Turn, Word

# a pause longer than this (seconds) inside one speaker's speech starts a new turn
TURN_PAUSE = 1.2
# mono calls: a speaker change inside one stretch of speech must last this long (seconds) to count
MIN_SPEAKER_RUN = 1.5


@dataclass
class SpeakerWord:
    word: Word
    speaker: str
    channel: int | None = None


@dataclass
class Span:
    """A stretch of time given to one speaker (diarization output)."""

    start: float
    end: float
    speaker: str


def assign_speakers(words: list[Word], spans: list[Span]) -> list[SpeakerWord]:
    """Each word goes to the speaker whose span overlaps it most (or the nearest span when none does)."""
    out: list[SpeakerWord] = []
    if not spans:
        return [SpeakerWord(w, "S0") for w in words]
    ordered = sorted(spans, key=lambda s: s.start)
    for w in words:
        best, best_overlap = None, 0.0
        for span in ordered:
            if span.start > w.end:
                break
            overlap = min(w.end, span.end) - max(w.start, span.start)
            if overlap > best_overlap:
                best, best_overlap = span, overlap
        if best is None:
            mid = (w.start + w.end) / 2
            best = min(ordered, key=lambda s: max(s.start - mid, mid - s.end, 0.0))
        out.append(SpeakerWord(w, best.speaker))
    return out


def smooth_within_regions(words: list[SpeakerWord], regions: list[tuple[float, float]],
                          min_run: float = MIN_SPEAKER_RUN) -> None:
    """Inside one stretch of speech, a speaker change shorter than `min_run` seconds is diarization noise.

    The shortest such run is merged into its longer neighbour, again and again, until every run
    lasts `min_run` seconds (a real hand-over without a pause) or one speaker holds the stretch.
    """
    for start, end in regions:
        runs: list[list[SpeakerWord]] = []
        for sw in words:
            if not start <= (sw.word.start + sw.word.end) / 2 < end:
                continue
            if runs and runs[-1][-1].speaker == sw.speaker:
                runs[-1].append(sw)
            else:
                runs.append([sw])
        while len(runs) > 1:
            lengths = [run[-1].word.end - run[0].word.start for run in runs]
            i = min(range(len(runs)), key=lengths.__getitem__)
            if lengths[i] >= min_run:
                break
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(runs)]
            j = max(neighbours, key=lengths.__getitem__)
            for sw in runs[i]:
                sw.speaker = runs[j][0].speaker
            lo, hi = min(i, j), max(i, j)
            runs[lo:hi + 1] = [runs[lo] + runs[hi]]
            # the merged run may now touch a run of the same speaker on its other side
            merged: list[list[SpeakerWord]] = []
            for run in runs:
                if merged and merged[-1][-1].speaker == run[0].speaker:
                    merged[-1].extend(run)
                else:
                    merged.append(run)
            runs = merged


def build_turns(words: list[SpeakerWord], roles: dict[str, Role], *, default_language: str = "zh",
                pause: float = TURN_PAUSE) -> list[Turn]:
    """Group time-ordered words into turns, cutting at speaker changes and pauses over `pause` seconds."""
    ordered = sorted(words, key=lambda sw: (sw.word.start, sw.word.end))
    groups: list[list[SpeakerWord]] = []
    for sw in ordered:
        last = groups[-1] if groups else None
        if last and last[-1].speaker == sw.speaker and sw.word.start - last[-1].word.end <= pause:
            last.append(sw)
        else:
            groups.append([sw])
    turns = []
    for group in groups:
        text = join_words([sw.word.text for sw in group])
        if not text:
            continue
        language = text_language(text, default_language)
        if language == "zh":
            # a turn cut at a pause ends a sentence even where Whisper wrote a comma; questions end with ？
            text = punctuate_zh(text)
        speaker = group[0].speaker
        turns.append(Turn(
            start=group[0].word.start,
            end=max(sw.word.end for sw in group),
            speaker=speaker,
            role=roles.get(speaker, "customer"),
            text=text,
            language=language,
            channel=group[0].channel,
            words=[sw.word for sw in group],
        ))
    return turns


def snap_to_speech(turns: list[Turn], speech: dict[int, list[tuple[float, float]]]) -> list[Turn]:
    """Stereo: move each turn's edges out to the edges of its channel's speech region around them.

    Word timestamps clip utterances (a last word often ends 0.5-2 s before the voice does), while each
    channel's VAD regions say when its one speaker is actually talking. A turn never grows over the
    same speaker's neighbouring turns. Talk ratio, patience and the timeline all read these times.
    """
    by_channel: dict[int, list[Turn]] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        if turn.channel is not None:
            by_channel.setdefault(turn.channel, []).append(turn)
    for channel, own in by_channel.items():
        _snap(own, speech.get(channel, []))
    return _join_unpaused(turns)


def snap_to_regions(turns: list[Turn], regions: list[tuple[float, float]]) -> list[Turn]:
    """Mono: move each turn's edges out to the edges of the speech region around them (see
    `snap_to_speech`); all speakers share the regions, so a turn never grows over any neighbour."""
    _snap(sorted(turns, key=lambda t: t.start), regions)
    return _join_unpaused(turns)


def _join_unpaused(turns: list[Turn], pause: float = TURN_PAUSE) -> list[Turn]:
    """Consecutive turns of one speaker that the snapped edges show without a pause between them are
    one turn: the gap was in the words (speech the decoder left unheard), not in the speech."""
    joined: list[Turn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        last = joined[-1] if joined else None
        if last and last.speaker == turn.speaker and turn.start - last.end <= pause:
            last.text = join_words([last.text, turn.text])
            last.end = max(last.end, turn.end)
            last.words = last.words + turn.words
        else:
            joined.append(turn)
    return joined


def _snap(ordered: list[Turn], regions: list[tuple[float, float]]) -> None:
    """Each turn's edges out to the region around them, never past its neighbours in `ordered`."""
    for k, turn in enumerate(ordered):
        floor = ordered[k - 1].end if k else 0.0
        ceiling = ordered[k + 1].start if k + 1 < len(ordered) else float("inf")
        for a, b in regions:
            if a <= turn.start <= b:
                turn.start = min(turn.start, max(a, floor))
            if a <= turn.end <= b:
                turn.end = max(turn.end, min(b, ceiling))
