"""asr: the speech stages, Recording -> Transcript with faster-whisper (callscope.pipeline runs them):
decode -> find_speakers (diarize) -> speaker_turns -> assign_roles -> transcript. The stage functions
are named apart from the modules (asr.diarize is the diarizer module)."""

from callscope.asr.stages import (
    Decoded,
    Roles,
    Speakers,
    assign_roles,
    decode,
    find_speakers,
    speaker_turns,
    transcript,
)

__all__ = ["Decoded", "Roles", "Speakers", "assign_roles", "decode", "find_speakers", "speaker_turns",
           "transcript"]
