"""asr: Recording -> Transcript (turns with speakers and roles), with faster-whisper."""

from callscope.asr.transcribe import transcribe

__all__ = ["transcribe"]
