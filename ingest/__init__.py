"""ingest: any recording a sales team has -> a Recording (16 kHz float32, one array per speaker channel)."""

from callscope.ingest.audio import load_recording

__all__ = ["load_recording"]
