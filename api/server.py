"""`callscope serve`: uvicorn on the app, SQLite and audio under the data dir unless configured."""

from __future__ import annotations

import sys

from callscope.core.config import Settings


def run_server(settings: Settings, host: str, port: int, demo: bool) -> None:
    import uvicorn

    from callscope.api.app import create_app
    from callscope.api.logs import setup_logging

    setup_logging(settings)  # call and job ids on every line of a job's processing (api.logs)
    app = create_app(settings, demo=demo)
    engine = f"celery on {settings.broker_url.split(':', 1)[0]}" if settings.broker_url else settings.workers
    where = settings.database_url.split("@")[-1] if settings.database_url else settings.resolved_database_url
    print(f"callscope: serving http://{host}:{port}/ (API docs: /docs); data: {settings.data_dir}; "
          f"database: {where}; workers: {engine}", file=sys.stderr, flush=True)
    # with the access log on, its lines go through api.logs.QueryValueFilter (installed by create_app)
    uvicorn.run(app, host=host, port=port, log_level="info" if settings.access_log else "warning",
                access_log=settings.access_log)
