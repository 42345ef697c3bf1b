"""Transcript -> Conversation: every nlp finding for one call."""

from __future__ import annotations

from callscope.core.config import Settings
from callscope.models.document import Conversation, Evidence, Transcript, TurnInsight
from callscope.nlp.classifiers import load_classifiers
from callscope.nlp.hits import find_compliance, find_trackers
from callscope.nlp.metrics import compute_metrics
from callscope.nlp.next_steps import find_next_steps
from callscope.nlp.objections import find_objections
from callscope.nlp.questions import question_kind
from callscope.nlp.spans import span_times
from callscope.nlp.stage import classify_stages
from callscope.nlp.text import detect_language, split_sentences
from callscope.nlp.tokens import tokenize


def annotate(transcript: Transcript, settings: Settings | None = None) -> Conversation:
    """Stage, objections, questions, next steps, compliance, trackers and metrics of one call."""
    settings = settings or Settings.from_env()
    classifiers = load_classifiers(settings)
    turns = transcript.turns
    extra = settings.extra_term_list
    tokens = [tokenize(t.text, extra) for t in turns]
    stages = classify_stages(classifiers, [t.text for t in turns], [t.role for t in turns],
                             [len(tk) for tk in tokens])

    insights: list[TurnInsight] = []
    rep_questions: list[Evidence] = []
    customer_questions = 0
    for index, turn in enumerate(turns):
        lang = turn.language or detect_language(turn.text)
        kinds = []
        for sentence in split_sentences(turn.text):
            kind = question_kind(sentence.text, lang)
            if kind is None:
                continue
            kinds.append(kind)
            if turn.role == "rep":
                start, end = span_times(turn, sentence.begin, sentence.end)
                rep_questions.append(Evidence(start, end, sentence.text, turn=index))
            else:
                customer_questions += 1
        insights.append(TurnInsight(tokens=tokens[index], stage=stages.turn_stages[index],
                                    stage_confidence=stages.turn_confidences[index],
                                    is_question=bool(kinds), open_question="open" in kinds))

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
        metrics=compute_metrics(transcript, len(rep_questions), customer_questions),
    )
