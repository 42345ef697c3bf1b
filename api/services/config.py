"""The service's judging data (api/data/service.yaml), read once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "service.yaml"


@functools.cache
def service_config() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
