"""nlp: Transcript -> Conversation (tokens, stage, objections, next steps, compliance, trackers, metrics).

The entry points are callscope.nlp.annotate.annotate and callscope.nlp.hits.load_trackers. This package
file imports nothing: the service reads nlp's data files, redaction and dates on every start, and
annotate's classifiers would bring scikit-learn (seconds of CPU) into processes that never annotate."""
