"""The package as it installs: one name (callscope.*), every shipped file in it, and the import
layers of .importlinter kept (checked with import-linter over the installed tree, since its graph
builder walks a package's own folder and the editable install maps the stage folders from beside it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# repository folder -> where it lands in site-packages (pyproject's package-dir)
MAPPED = {"callscope": "callscope", **{stage: f"callscope/{stage}"
                                       for stage in ("ingest", "asr", "nlp", "scoring", "models", "api")}}
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` into a folder of its own, built from a copy of the sources (setuptools' in-tree
    build/ folder would otherwise keep files deleted since the last build)."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in MAPPED:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def _run(code_or_args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(code_or_args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_everything_imports_under_one_name_and_nothing_generic(installed: Path, tmp_path: Path) -> None:
    ok = _run([sys.executable, "-c", "import callscope.asr, callscope.api, callscope.nlp, callscope.ingest, "
               "callscope.scoring, callscope.models, callscope.pipeline, callscope.cli"], installed, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in installed.iterdir() if not p.name.endswith((".dist-info", ".egg-info"))
                  and p.name != "bin") == ["callscope"]
    for generic in ("api", "models", "nlp", "asr", "ingest", "scoring"):
        gone = _run([sys.executable, "-c", f"import {generic}"], installed, tmp_path)
        assert gone.returncode != 0 and "ModuleNotFoundError" in gone.stderr, generic


def test_every_shipped_file_is_installed(installed: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", *MAPPED], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    missing = []
    for path in tracked:
        top, _, rest = path.partition("/")
        if (installed / MAPPED[top] / rest).exists() or not (ROOT / path).exists():
            continue
        missing.append(path)
    assert not missing, f"not installed (add the folder to [tool.setuptools] packages): {missing[:10]}"


def test_layer_contract_holds(installed: Path, tmp_path: Path) -> None:
    result = _run([str(LINT_IMPORTS), "--config", str(ROOT / ".importlinter")], installed, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout


def test_layer_contract_fails_when_a_stage_imports_the_service(installed: Path, tmp_path: Path) -> None:
    broken = tmp_path / "site"
    shutil.copytree(installed / "callscope", broken / "callscope")
    stage = broken / "callscope" / "asr" / "__init__.py"
    stage.write_text(stage.read_text(encoding="utf-8") + "\nimport callscope.api  # noqa\n", encoding="utf-8")
    result = _run([str(LINT_IMPORTS), "--config", str(ROOT / ".importlinter")], broken, tmp_path)
    assert result.returncode != 0
    assert "callscope.asr is not allowed to import callscope.api" in result.stdout
