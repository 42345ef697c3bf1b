"""Where nlp's data files live and how they are read (once, cached)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from callscope.core.errors import ModelError

DATA_DIR = Path(__file__).resolve().parent / "data"
# libyaml's loader where PyYAML was built with it: the same data as SafeLoader, read 7x faster (the
# training corpus: 2.5 s -> 0.3 s for every nlp data file)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=32)
def load_yaml(path: str | Path) -> Any:
    """A YAML data file; a relative name is looked up in nlp/data/."""
    full = Path(path)
    if not full.is_absolute() and not full.exists():
        full = DATA_DIR / full
    try:
        return yaml.load(full.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise ModelError(f"cannot read nlp data file {full}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ModelError(f"nlp data file {full} is not valid YAML: {str(exc).splitlines()[0]}") from exc
