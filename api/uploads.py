"""Receiving an upload: the multipart body is streamed to a temp file under the data dir in chunks
(never whole in memory), hashed on the way, size-capped; then the audio is probed before anything is
kept, and stored content-addressed as data_dir/audio/ab/<sha256>.<ext>. Client file names never touch
a path."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from callscope.api.storage import AudioStore
from callscope.core.config import Settings
from callscope.core.errors import InputError

log = logging.getLogger("callscope.api")
MAX_FIELD_BYTES = 64 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_EXT_BY_FORMAT = {"wav": "wav", "flac": "flac", "mp3": "mp3", "ogg": "ogg", "mov": "m4a", "matroska": "webm",
                  "amr": "amr", "aac": "aac", "aiff": "aiff", "caf": "caf", "w64": "w64", "au": "au"}
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg",
                 "m4a": "audio/mp4", "webm": "audio/webm", "amr": "audio/amr", "aac": "audio/aac",
                 "aiff": "audio/aiff"}


@dataclass
class Upload:
    """A received upload: the form fields and the audio in a temp file (remove() when not kept)."""

    fields: dict[str, str] = field(default_factory=dict)
    temp_path: Path | None = None
    filename: str = ""
    content_type: str = ""
    sha256: str = ""
    size: int = 0

    def remove(self) -> None:
        if self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)
            self.temp_path = None


@dataclass
class AudioProbe:
    ext: str
    duration: float
    channels: int
    sample_rate: int


class _FormCollector:
    """Callbacks for python-multipart's streaming parser: fields to memory (capped), the file to disk."""

    def __init__(self, upload: Upload, temp_dir: Path, max_bytes: int) -> None:
        self.upload, self.temp_dir, self.max_bytes = upload, temp_dir, max_bytes
        self.hasher = hashlib.sha256()
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part_name = ""
        self.part_is_file = False
        self.value = bytearray()
        self.file = None

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field_data,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.headers, self.value = {}, bytearray()

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field, self.header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part_name = options.get(b"name", b"").decode("utf-8", "replace")
        self.part_is_file = b"filename" in options and self.part_name == "file"
        if self.part_is_file:
            if self.file is not None:
                raise HTTPException(422, "file: send one file per upload")
            self.upload.filename = options[b"filename"].decode("utf-8", "replace")[:500]
            self.upload.content_type = self.headers.get(b"content-type", b"").decode("latin-1")[:100]
            self.upload.temp_path = self.temp_dir / f"upload-{secrets.token_hex(8)}.part"
            self.file = open(self.upload.temp_path, "wb")  # noqa: SIM115 - closed in finish()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part_is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                raise HTTPException(413, f"file is larger than the limit of {self.max_bytes} bytes")
            self.hasher.update(chunk)
            self.file.write(chunk)
        else:
            self.value += chunk
            if len(self.value) > MAX_FIELD_BYTES:
                raise HTTPException(422, f"{self.part_name}: value too long")

    def part_end(self) -> None:
        if not self.part_is_file and self.part_name:
            self.upload.fields[self.part_name] = self.value.decode("utf-8", "replace").strip()

    def finish(self) -> None:
        if self.file is not None:
            self.file.close()
        self.upload.sha256 = self.hasher.hexdigest()


async def receive_upload(request: Request, settings: Settings) -> Upload:
    """Stream a multipart/form-data body to disk. Raises HTTPException (413, 422) with the temp removed."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise HTTPException(422, "body: send multipart/form-data with a 'file' part")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + MAX_FIELD_BYTES * 16:
        raise HTTPException(413, f"file is larger than the limit of {settings.max_upload_bytes} bytes")
    temp_dir = Path(settings.data_dir) / "tmp"
    try:
        temp_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise storage_error(err) from err
    upload = Upload()
    collector = _FormCollector(upload, temp_dir, settings.max_upload_bytes)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        collector.finish()
    except HTTPException:
        collector.finish()
        upload.remove()
        raise
    except (FormParserError, UnicodeDecodeError, ValueError) as err:  # the client's body
        _abandon(collector, upload)
        raise HTTPException(422, f"body: malformed multipart data ({type(err).__name__})") from err
    except ClientDisconnect as err:
        _abandon(collector, upload)
        raise HTTPException(400, "body: the client disconnected before the upload was complete") from err
    except OSError as err:  # the server's disk: full, read-only, gone
        _abandon(collector, upload)
        raise storage_error(err) from err
    except Exception as err:
        _abandon(collector, upload)
        log.exception("upload failed")
        raise HTTPException(500, f"the server failed while receiving the upload ({type(err).__name__}); "
                                 "try again later") from err
    if upload.temp_path is None:
        raise HTTPException(422, "file: missing (send the recording as the 'file' part)")
    return upload


def _abandon(collector: _FormCollector, upload: Upload) -> None:
    """Close and remove what was received; an error doing so must not hide the first one."""
    with contextlib.suppress(OSError):
        collector.finish()
    with contextlib.suppress(OSError):
        upload.remove()


def storage_error(err: OSError) -> HTTPException:
    """An upload the server could not store: 507 when the disk is full, else 500 (never a 4xx: the
    client sent nothing wrong). The message says so in one line, without the server's paths."""
    reason = os.strerror(err.errno) if err.errno else type(err).__name__
    log.error("cannot store an upload: %s", err)
    if err.errno in _FULL:
        return HTTPException(507, f"the server has no room to store the recording ({reason}); "
                                  "nothing was kept, try again later")
    return HTTPException(500, f"the server could not store the recording ({reason}); nothing was kept, "
                              "try again later")


def probe_audio(path: Path, settings: Settings) -> AudioProbe:
    """Check that path is decodable audio of an acceptable length, cheaply (headers and a first frame).
    Raises InputError with a one-line reason."""
    import av

    if path.stat().st_size == 0:
        raise InputError("file is empty")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise InputError("not an audio file (unrecognised or corrupt format)") from err
    with container:
        streams = container.streams.audio
        if not streams:
            raise InputError("the file has no audio stream")
        stream = streams[0]
        try:
            frame = next(container.decode(stream), None)
        except av.error.FFmpegError as err:
            raise InputError(f"audio cannot be decoded: {str(err).splitlines()[0]}") from err
        if frame is None:
            raise InputError("the audio stream is empty")
        duration = container.duration / 1e6 if container.duration else 0.0
        if not duration and stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        fmt = container.format.name.split(",")[0]
        channels, rate = stream.codec_context.channels, stream.codec_context.sample_rate
    if duration and duration < settings.min_duration:
        raise InputError(f"recording too short ({duration:.1f}s; at least {settings.min_duration:g}s needed)")
    if duration > settings.max_duration:
        raise InputError(f"recording too long ({duration:.0f}s; at most {settings.max_duration:.0f}s)")
    return AudioProbe(ext=_EXT_BY_FORMAT.get(fmt, "audio"), duration=duration, channels=channels,
                      sample_rate=rate)


def store_audio(upload: Upload, ext: str, store: AudioStore) -> str:
    """Move the temp file into the store under its content address; returns the key."""
    rel = Path("audio") / upload.sha256[:2] / f"{upload.sha256}.{ext}"
    try:
        store.put(upload.temp_path, rel.as_posix())
    except OSError as err:
        raise storage_error(err) from err
    upload.temp_path = None
    return rel.as_posix()
