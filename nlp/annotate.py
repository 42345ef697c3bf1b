"""Transcript -> Conversation: every nlp finding for one call."""

from __future__ import annotations

from callscope.core.config import Settings
from callscope.models.document import Conversation, Evidence, Transcript, TurnInsight
from callscope.nlp.classifiers import load_classifiers
from callscope.nlp.hits import find_compliance, find_trackers
from callscope.nlp.metrics import compute_metrics
from callscope.nlp.model import Classifiers
from callscope.nlp.next_steps import find_next_steps
from callscope.nlp.objections import find_objections
from callscope.nlp.questions import count_questions, question_kind
from callscope.nlp.spans import span_times
from callscope.nlp.stage import classify_stages
from callscope.nlp.text import detect_language, split_sentences
from callscope.nlp.tokens import tokenize


def annotate(transcript: Transcript, settings: Settings | None = None,
             classifiers: Classifiers | None = None) -> Conversation:
    """Stage, objections, questions, next steps, compliance, trackers and metrics of one call.
    `classifiers`: by default the process's (nlp.classifiers.load_classifiers); cross-validation
    hands in the ones trained without the held-out calls."""
    settings = settings or Settings.from_env()
    classifiers = classifiers or load_classifiers(settings)
    turns = transcript.turns
    extra = settings.extra_term_list
    tokens = [tokenize(t.text, extra) for t in turns]
    stages = classify_stages(classifiers, [t.text for t in turns], [t.role for t in turns],
                             [len(tk) for tk in tokens])

    insights: list[TurnInsight] = []
    rep_questions: list[Evidence] = []  # where the rep asked: each sentence that asks
    asked = {"rep": 0, "customer": 0}
    rep_open = 0
    for index, turn in enumerate(turns):
        lang = turn.language or detect_language(turn.text)
        counts = count_questions(turn.text, lang)
        asked[turn.role] = asked.get(turn.role, 0) + counts.asked
        if turn.role == "rep":
            rep_open += counts.open
            for sentence in split_sentences(turn.text):
                if question_kind(sentence.text, lang) is not None:
                    start, end = span_times(turn, sentence.begin, sentence.end)
                    rep_questions.append(Evidence(start, end, sentence.text, turn=index))
        insights.append(TurnInsight(tokens=tokens[index], stage=stages.turn_stages[index],
                                    stage_confidence=stages.turn_confidences[index],
                                    questions=counts.asked, open_questions=counts.open))

    return Conversation(
        transcript=transcript,
        insights=insights,
        stage=stages.call_stage,
        stage_scores=stages.call_scores,
        objections=find_objections(transcript, classifiers),
        next_steps=find_next_steps(transcript),
        questions=rep_questions,
        compliance=find_compliance(transcript),
        trackers=find_trackers(transcript, settings.trackers),
        metrics=compute_metrics(transcript, asked["rep"], asked["customer"], rep_open),
    )
