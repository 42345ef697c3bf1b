"""The `callscope` command: a thin shell over the pipeline and the service."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from callscope import __version__
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError


def _progress(message: str) -> None:
    print(f"callscope: {message}", file=sys.stderr, flush=True)


def _cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from callscope.ingest import load_recording

    for name in ("model", "device", "compute_type", "beam_size", "hotwords"):
        if getattr(args, name) is not None:  # a flag wins over its CALLSCOPE_ variable
            setattr(settings, name, getattr(args, name))
    # the file first: a bad one is refused before the pipeline's import (the recogniser's libraries,
    # scikit-learn: seconds of CPU that a wrong path or a text file should not cost)
    started = time.perf_counter()
    recording = load_recording(args.file, channels=args.channels, rep_channel=args.rep_channel,
                               settings=settings)
    timings = {"ingest": time.perf_counter() - started}

    from callscope.pipeline import AnalyzeOptions, analyze_recording, checked_rubric
    from callscope.report import render_text

    options = AnalyzeOptions(channels=args.channels, rep_channel=args.rep_channel,
                             language=args.language, rubric=args.rubric)
    analysis = analyze_recording(recording, checked_rubric(options, settings), options, settings, timings,
                                 progress=_progress if not args.quiet else lambda _: None)
    if args.format == "json":
        json.dump(analysis.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(analysis, lang=args.report_language))
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from callscope.api.server import run_server

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    if args.processes is not None:
        if args.processes < 1:
            print("callscope: --processes takes a number of at least 1", file=sys.stderr)
            return 2
        settings.serve_processes = args.processes
    run_server(settings, host=args.host, port=args.port, demo=args.demo)
    return 0


def _cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from callscope.api.tokens import create_token_cli

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    print(create_token_cli(settings, role=args.role, rep=args.rep, team=args.team, name=args.name,
                           expires_in_days=args.expires_days, uploads_per_minute=args.uploads_per_minute,
                           bytes_per_day=args.bytes_per_day))
    return 0


def _cmd_token_manage(args: argparse.Namespace, settings: Settings) -> int:
    """token list | revoke ID | rotate ID: JSON lines on stdout (rotate: the new secret first)."""
    from callscope.api.tokens import manage_token_cli

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    rows, secret = manage_token_cli(settings, args.token_command, getattr(args, "id", None),
                                    getattr(args, "grace_seconds", 0.0))
    if secret:
        print(secret)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def _cmd_privacy_backfill(args: argparse.Namespace, settings: Settings) -> int:
    """privacy backfill: redact stored calls under the current rules; a JSON line of counts on stdout."""
    from callscope.api.backfill import backfill_cli

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    print(json.dumps(backfill_cli(settings, every=args.all)))
    return 0


def _cmd_rollups(args: argparse.Namespace, settings: Settings) -> int:
    """rollups rebuild: every per rep and day roll-up recomputed from the calls; one JSON line."""
    from callscope.api.services.rollups import rebuild_cli

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    print(json.dumps(rebuild_cli(settings)))
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from callscope.api.worker import run_worker

    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - {"asr", "analysis"})
    if unknown or not queues:
        print(f"callscope: --queues takes asr, analysis or both, not {args.queues!r}", file=sys.stderr)
        return 2
    run_worker(settings, concurrency=args.concurrency, queues=queues, metrics_port=args.metrics)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callscope", description="Conversation intelligence for sales calls.")
    p.add_argument("--version", action="version", version=f"callscope {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze",
                       help="analyse one recording; prints the analysis document or a report",
                       description="Analyse one recording without any server: transcript, roles, stage, "
                                   "objections, next steps, metrics and scorecard. Progress goes to stderr; "
                                   "a file that cannot be analysed ends with one line and exit status 2.")
    a.add_argument("file", help="the recording: wav, flac, ogg/opus, mp3, m4a/aac; any rate; mono or stereo")
    a.add_argument("--format", choices=["json", "text"], default="json",
                   help="json: the analysis document; text: a report for the rep (default: %(default)s)")
    a.add_argument("--language", choices=["auto", "zh", "en"], default=None,
                   help="spoken language; auto detects per channel (default: CALLSCOPE_LANGUAGE, auto)")
    a.add_argument("--channels", choices=["auto", "stereo", "mono"], default="auto",
                   help="stereo: one party per channel; mono: speakers told apart by voice and turn-taking; "
                        "auto (the default): stereo when the two channels differ")
    a.add_argument("--rep-channel", type=int, choices=[0, 1], default=0,
                   help="which channel of a stereo file is the rep (default: %(default)s, the left one)")
    a.add_argument("--rubric", default=None,
                   help="built-in rubric name (default, qa-strict) or a YAML/JSON path "
                        "(default: CALLSCOPE_RUBRIC, default)")
    a.add_argument("--model", default=None,
                   help="speech model: bundled, a CTranslate2 directory or a hub name "
                        "(default: CALLSCOPE_MODEL, bundled)")
    a.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="where the model runs (default: CALLSCOPE_DEVICE, auto)")
    a.add_argument("--compute-type", default=None,
                   help="auto, int8, float16, float32 ... (default: CALLSCOPE_COMPUTE_TYPE, auto: "
                        "int8 on CPU, float16 on CUDA)")
    a.add_argument("--beam-size", type=int, default=None,
                   help="decoder beam (default: CALLSCOPE_BEAM_SIZE, 5)")
    a.add_argument("--hotwords", default=None,
                   help="product and competitor names, comma-separated (default: CALLSCOPE_HOTWORDS)")
    a.add_argument("--report-language", choices=["zh", "en"], default=None,
                   help="language of the text report (default: the call's language)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a.set_defaults(func=_cmd_analyze)

    s = sub.add_parser("serve", help="the API and web pages on an embedded default",
                       description="The HTTP API (/api/v1, OpenAPI at /docs) and the web pages, with "
                                   "a SQLite file, the audio and in-process workers under the data dir.")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    s.add_argument("--data-dir", default=None,
                   help="SQLite file and audio (default: CALLSCOPE_DATA_DIR, ./data)")
    s.add_argument("--demo", action="store_true",
                   help="seed a demo team, analyse the bundled samples and print sign-in tokens")
    s.add_argument("--processes", type=int, default=None, metavar="N",
                   help="worker processes answering requests, one per core (default: "
                        "CALLSCOPE_SERVE_PROCESSES, 1); jobs and other background work run in one of them")
    s.set_defaults(func=_cmd_serve)

    t = sub.add_parser("token", help="API tokens")
    tsub = t.add_subparsers(dest="token_command", required=True)
    tc = tsub.add_parser("create",
                         help="print a new API token (shown once; only its hash is stored)")
    tc.add_argument("--role", choices=["admin", "manager", "rep", "integration"], required=True,
                    help="admin: everything; manager: one team; rep: own calls; integration: a CRM")
    tc.add_argument("--rep", default=None, help="rep id or email (needed for role rep)")
    tc.add_argument("--team", default=None, help="team id or name (needed for role manager)")
    tc.add_argument("--name", default=None, help="a label for the token")
    tc.add_argument("--data-dir", default=None,
                    help="the service's data dir (default: CALLSCOPE_DATA_DIR, ./data)")
    tc.add_argument("--expires-days", type=float, default=None, help="the token stops working after this")
    tc.add_argument("--uploads-per-minute", type=int, default=None, help="upload limit (429 past it)")
    tc.add_argument("--bytes-per-day", type=int, default=None, help="upload volume limit (429 past it)")
    tc.set_defaults(func=_cmd_token)
    for action, text in (("list", "the tokens (no secrets)"), ("revoke", "revoke a token: 401 from now on"),
                         ("rotate", "a new secret for a token; the old one is revoked")):
        ta = tsub.add_parser(action, help=text)
        if action != "list":
            ta.add_argument("id", type=int, help="the token's id (token list)")
        if action == "rotate":
            ta.add_argument("--grace-seconds", type=float, default=0.0,
                            help="the old secret keeps working this long")
        ta.add_argument("--data-dir", default=None,
                        help="the service's data dir (default: CALLSCOPE_DATA_DIR, ./data)")
        ta.set_defaults(func=_cmd_token_manage)

    pv = sub.add_parser("privacy", help="privacy jobs")
    psub = pv.add_subparsers(dest="privacy_command", required=True)
    pb = psub.add_parser("backfill", help="redact calls stored before redaction was on or under older rules "
                                          "(idempotent, audited)")
    pb.add_argument("--all", action="store_true", help="re-read calls already at the current rules too")
    pb.add_argument("--data-dir", default=None, help="the service's data dir (default: CALLSCOPE_DATA_DIR)")
    pb.set_defaults(func=_cmd_privacy_backfill)

    r = sub.add_parser("rollups", help="the per rep and day roll-ups that evaluations read")
    rsub = r.add_subparsers(dest="rollups_command", required=True)
    rb = rsub.add_parser("rebuild", help="recompute every roll-up from the calls (the service keeps them "
                                         "up to date itself; this is for repairs and after bulk imports)")
    rb.add_argument("--data-dir", default=None,
                    help="the service's data dir (default: CALLSCOPE_DATA_DIR, ./data)")
    rb.set_defaults(func=_cmd_rollups)

    w = sub.add_parser("worker",
                       help="a worker of the shared job queue (set CALLSCOPE_DATABASE_URL; "
                            "CALLSCOPE_BROKER_URL for Celery)")
    w.add_argument("--concurrency", type=int, default=1, help="calls analysed at once (default: %(default)s)")
    w.add_argument("--data-dir", default=None, help="the shared audio store (default: CALLSCOPE_DATA_DIR)")
    w.add_argument("--queues", default="asr,analysis",
                   help="asr (transcription: the heavy work), analysis (re-scoring, the cheap work) or "
                        "both (default: %(default)s)")
    w.add_argument("--metrics", default="", metavar="[HOST:]PORT",
                   help="serve this worker's Prometheus metrics there (default host 127.0.0.1)")
    w.set_defaults(func=_cmd_worker)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="callscope: %(message)s")
    debug = bool(os.environ.get("CALLSCOPE_DEBUG"))
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except CallscopeError as err:
        print(f"callscope: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("callscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `callscope analyze x | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # never a traceback for a user; CALLSCOPE_DEBUG=1 shows it
        if debug:
            raise
        print(f"callscope: error: unexpected {type(err).__name__}: {err}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
