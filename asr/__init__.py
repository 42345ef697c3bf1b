"""asr: the speech stages, Recording -> Transcript with faster-whisper (callscope.pipeline runs them):
decode -> diarize -> speaker_turns -> assign_roles -> transcript."""

from callscope.asr.stages import (
    Decoded,
    Roles,
    Speakers,
    assign_roles,
    decode,
    diarize,
    speaker_turns,
    transcript,
)

__all__ = ["Decoded", "Roles", "Speakers", "assign_roles", "decode", "diarize", "speaker_turns", "transcript"]
