"""`callscope serve`: uvicorn on the app, SQLite and audio under the data dir unless configured."""

from __future__ import annotations

import logging
import sys

from callscope.core.config import Settings


def run_server(settings: Settings, host: str, port: int, demo: bool) -> None:
    import uvicorn

    from callscope.api.app import create_app

    logging.getLogger("callscope").setLevel(logging.INFO)
    app = create_app(settings, demo=demo)
    where = settings.database_url.split("@")[-1] if settings.database_url else settings.resolved_database_url
    print(f"callscope: serving http://{host}:{port}/ (API docs: /docs); data: {settings.data_dir}; "
          f"database: {where}; workers: {settings.workers}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
