"""Installed like a library: a wheel built from this checkout, installed into a fresh virtual environment
outside it, runs `finemill run` with no arguments (the bundled recipe on the bundled sample crawl), with
the recipes, training configs and the sample's banks of text found as package data."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO


def clean_env() -> dict[str, str]:
    """The environment without anything that could put the checkout on the venv's import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def build_wheel(dest: Path, work: Path) -> Path:
    """Build from a copy of the project files, so the build's own folders (build/, *.egg-info) never land
    in the checkout. Offline: no build isolation, setuptools from this environment."""
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "finemill", src / "finemill", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-w",
            str(dest),
            str(src),
        ],
        check=True,
        cwd=work,
        env=clean_env(),
    )
    (wheel,) = dest.glob("finemill-*.whl")
    return wheel


def dependency_dirs() -> list[str]:
    """The site-packages folders this interpreter imports the dependencies from: a virtual environment's own
    (and its base's, when created with --system-site-packages), or the base interpreter's, plus the user's
    site when it is on."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def venv_reaching_these_dependencies(env_dir: Path) -> Path:
    """A fresh venv whose site-packages has a .pth file naming `dependency_dirs()`: it imports the
    dependencies this test runs with, wherever they are installed. `system_site_packages=True` would reach the
    base interpreter's folder only, not the virtual environment a user installed into. The .pth lists plain
    folders, so the .pth files inside them (this checkout's editable install among them) are not run, and the
    venv's own site-packages, where the wheel goes, comes first on the path. Returns that site-packages."""
    venv.create(env_dir, with_pip=False)
    site_dir = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        env=clean_env(),
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_dir) / "test_dependencies.pth").write_text("".join(f"{d}\n" for d in dependency_dirs()))
    return Path(site_dir)


@pytest.mark.slow
def test_wheel_installs_and_runs_the_sample_recipe(tmp_path):
    assert not tmp_path.is_relative_to(REPO)
    wheel = build_wheel(tmp_path / "dist", tmp_path)
    # The dependencies come from this environment's site-packages (nothing downloaded); finemill itself
    # only from the wheel. --ignore-installed: the checkout's editable install has the same version.
    env_dir = tmp_path / "venv"
    site_dir = venv_reaching_these_dependencies(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
        env=clean_env(),
    )

    where = subprocess.run(
        [
            str(python),
            "-c",
            "import json, finemill, finemill.config_files as c; "
            "print(json.dumps([finemill.__file__, str(c.PACKAGED_CONFIGS), c.packaged_names()]))",
        ],
        check=True,
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    module, configs, names = json.loads(where.stdout)
    assert site_dir.is_relative_to(env_dir)
    assert Path(module).is_relative_to(site_dir), module  # the wheel's copy, not the checkout's
    assert Path(configs).is_relative_to(site_dir)
    assert {"fineweb", "fineweb-fast", "train-tiny", "train-gpt2-124m"} <= set(names)

    out = tmp_path / "out"
    run = subprocess.run(
        [str(env_dir / "bin" / "finemill"), "run", "--output", str(out), "--limit", "40"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p.name for p in (out / "input").iterdir()) == ["sample-0.warc.gz", "sample-1.warc.gz"]
    stats = json.loads((out / "stats.json").read_text())
    recipe = yaml.safe_load((REPO / "configs" / "fineweb.yaml").read_text())
    assert stats["recipe"] == recipe["name"]
    assert [step["name"] for step in stats["steps"]] == [next(iter(step)) for step in recipe["steps"]]
    assert stats["reader"]["documents"] == 2 * 40  # two sample files, --limit 40 each
    documents = sum(pq.read_metadata(p).num_rows for p in (out / "documents").glob("*.parquet"))
    assert documents == stats["steps"][-1]["docs_out"] > 0

    # the multilingual recipe from the wheel: its settings file is package data, its documents per language
    out2 = tmp_path / "out-fineweb2"
    run = subprocess.run(
        [str(env_dir / "bin" / "finemill"), "run", "fineweb2", "--output", str(out2), "--limit", "40"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    stats = json.loads((out2 / "stats.json").read_text())
    funnel = stats["languages"]
    assert "en" in funnel and len(funnel) > 1, funnel  # the sample has pages in seven other languages
    for language, entry in funnel.items():
        files = (out2 / "documents" / language).glob("*.parquet")
        assert sum(pq.read_metadata(p).num_rows for p in files) == entry["out"]["pii"]
