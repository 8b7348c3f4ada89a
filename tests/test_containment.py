"""A run writes only beneath its output folder, and --force deletes only a finemill run's own parts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from finemill import run_folder
from finemill.errors import FinemillError
from finemill.pipeline.plan import plan_stages
from finemill.pipeline.recipe import DEFAULT_RECIPE, load_recipe, parse_recipe
from finemill.pipeline.run import clear_run, run_recipe
from finemill.run_folder import beneath


@pytest.mark.parametrize("parts", [("..", "elsewhere"), ("removed", "..", "..", "x"), ("/tmp/abs",), ("",)])
def test_paths_that_leave_out_are_refused(tmp_path, parts):
    with pytest.raises(FinemillError, match="not inside the output folder"):
        beneath(tmp_path / "out", *parts)


@pytest.mark.parametrize(
    "parts",
    [
        ("..", "elsewhere"),
        ("removed", "..", "..", "x"),
        ("/tmp/abs",),
        ("",),
        ("s3://other/x",),
        ("s3://bucket/out2/x",),
    ],
)
def test_paths_that_leave_an_object_storage_prefix_are_refused(parts):
    """On object storage OUT is a key prefix: the same refusals, and no other URL (a sibling prefix included)."""
    for module in ("s3fs", "upath"):
        pytest.importorskip(module)
    from finemill import storage

    with pytest.raises(FinemillError, match="not inside the output folder"):
        beneath(storage.as_path("s3://bucket/out"), *parts)


def test_object_storage_accessor_paths_stay_beneath_out():
    for module in ("s3fs", "upath"):
        pytest.importorskip(module)
    from finemill import storage

    out = storage.as_path("s3://bucket/out/")
    assert str(beneath(out, run_folder.documents(out))) == "s3://bucket/out/documents"
    assert str(beneath(out, run_folder.minhash(out, "buckets"))) == "s3://bucket/out/work/minhash/buckets"
    assert str(beneath(out, "removed", "extract")) == "s3://bucket/out/removed/extract"


def test_a_symlink_out_of_out_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "documents").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FinemillError, match="not inside the output folder"):
        beneath(tmp_path / "out", "documents")


@pytest.mark.parametrize("step", [{"extract": {"exclusion_writer": "/tmp/x"}}, {"../../etc": {}}])
def test_a_recipe_cannot_name_where_a_step_writes(step):
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    raw["steps"].append(step)
    with pytest.raises(FinemillError, match="unknown"):
        parse_recipe(raw, {}, source="r.yaml")


def written_folders(step) -> list[str]:
    """The folders a pipeline step writes to: its own output folder and its removed-documents writer's."""
    writers = [step, getattr(step, "exclusion_writer", None)]
    return [w.output_folder.path for w in writers if w is not None and hasattr(w, "output_folder")]


def test_every_planned_writer_is_beneath_out(tmp_path):
    out = (tmp_path / "out").resolve()
    recipe = load_recipe(None, {"input": [str(Path(__file__))], "output": str(out)})
    stages = plan_stages(recipe, [str(Path(__file__).resolve())], out)
    folders = [folder for stage in stages for step in stage.pipeline for folder in written_folders(step)]
    assert len(folders) >= 10  # documents, work files, MinHash folders, one removed/<step> per removing step
    for folder in folders:
        assert Path(folder).resolve().is_relative_to(out), folder


def test_a_run_writes_only_beneath_its_resolved_output(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    recipe = load_recipe(None, {"output": "../runs/x/../r", "limit": 10, "workers": 1})
    recipe.steps = [s for s in recipe.steps if s.name in ("extract", "minhash")]
    recipe.steps[-1].params["num_buckets"] = 2
    run_recipe(recipe, progress=False)
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    out = tmp_path / "runs" / "r"
    assert written and all(p.is_relative_to(out) for p in written), sorted(written - set(out.rglob("*")))
    assert (out / "stats.json").is_file() and list((out / "documents").glob("*.parquet"))
    # Every file lies where finemill.run_folder says the run writes: the layout has one owner.
    layout = [
        run_folder.documents(out),
        run_folder.removed(out, "extract"),
        run_folder.removed(out, "minhash"),
        run_folder.stats_file(out),
        run_folder.card_file(out),
        run_folder.run_marker(out),
        run_folder.plan_file(out),
        run_folder.input_list(out),
        run_folder.filtered(out),
        run_folder.input_folder(out),
        *[run_folder.minhash(out, part) for part in run_folder.MINHASH_PARTS],
        *[run_folder.logs(out, stage) for stage in ("filter", "buckets", "clusters", "finalize")],
    ]
    unplaced = [p for p in written if not any(p == place or p.is_relative_to(place) for place in layout)]
    assert not unplaced, unplaced


def test_force_refuses_root_home_and_folders_holding_other_things(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    for folder in (Path("/"), home, tmp_path):  # tmp_path: an ancestor of $HOME
        with pytest.raises(FinemillError, match="refuses to clear"):
            clear_run(folder)
    assert (home / "notes.txt").read_text() == "mine"

    run = tmp_path / "run"
    (run / "documents").mkdir(parents=True)
    (run / "thesis.tex").write_text("years of work")
    with pytest.raises(FinemillError, match="'thesis.tex', which is not part of a finemill run"):
        clear_run(run)
    assert (run / "documents").is_dir() and (run / "thesis.tex").is_file()


def test_force_deletes_only_the_runs_parts_and_never_follows_a_link(tmp_path):
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.parquet").write_text("not the run's")
    for part in ("removed/url_filter", "work", "logs/filter", "tokens", "train-tiny"):
        (run / part).mkdir(parents=True)
    (run / "stats.json").write_text("{}")
    (run / "documents").symlink_to(elsewhere)
    clear_run(run)
    assert sorted(p.name for p in run.iterdir()) == ["tokens", "train-tiny"]  # tokenize/train outputs stay
    assert (elsewhere / "keep.parquet").read_text() == "not the run's"


def test_cli_force_refusal_is_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "run", "-o", str(tmp_path), "--force"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": "/nonexistent"},
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "refuses to clear" in result.stderr and (tmp_path / "notes.txt").is_file()
