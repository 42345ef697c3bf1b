"""asr: Recording -> Transcript (turns with speakers and roles), with faster-whisper."""

from asr.transcribe import transcribe

__all__ = ["transcribe"]
