"""`finemill run`, `stats` and `inspect` with the crawl and the run folder on object storage (s3://), against
moto's S3 server on loopback (tests/s3_server.py), reached as a user reaches any S3-compatible store: AWS_*
credentials and AWS_ENDPOINT_URL in the environment, nothing else.

One run of the bundled sample's two files from s3:// into s3:// is shared by the module (slow): SIGKILLed
mid-filter, then rerun, it must end with the local run's documents and counts (`uninterrupted`, the same
recipe run locally through once). The quick tests list inputs, plan writers and check the one-line errors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from finemill.cli import main as cli_main
from finemill.errors import FinemillError
from tests.conftest import RESUMABLE_RECIPE, assert_same_outputs, write_resumable_recipe
from tests.s3_server import assert_no_secret, free_port, run_cli_s3

BUCKET = "finemill-run"


def write_sample_crawl(folder: Path) -> Path:
    """The bundled sample's two WARC files, as `finemill run` with no input writes them."""
    from finemill.demo.crawl import write_sample_warc
    from finemill.pipeline.run import SAMPLE_FILES

    folder.mkdir(parents=True, exist_ok=True)
    for part in range(SAMPLE_FILES):
        write_sample_warc(folder / f"sample-{part}.warc.gz", part=part, parts=SAMPLE_FILES)
    return folder


@pytest.fixture(scope="module")
def s3_crawl(s3_server, tmp_path_factory) -> str:
    """s3://finemill-run/crawl/: the sample crawl, plus a file no run reads (a glob of *.warc.gz skips it)."""
    bucket = s3_server.bucket(BUCKET)
    local = write_sample_crawl(tmp_path_factory.mktemp("crawl"))
    (local / "notes.txt").write_text("not a crawl file")
    s3_server.upload(local, f"{bucket}/crawl")
    return f"{bucket}/crawl"


def run_on_s3(cwd: Path, crawl: str, out: str) -> list[str]:
    """The resumable recipe's command line (tests/conftest.py) with input and output on object storage."""
    write_resumable_recipe(cwd)
    return ["run", RESUMABLE_RECIPE, "--input", f"{crawl}/*.warc.gz", "--output", out, "--workers", "2"]


@dataclass
class S3Run:
    url: str  # the run folder on object storage
    copy: Path  # every object under it, downloaded
    result: subprocess.CompletedProcess  # the rerun's
    cwd: Path
    killed: tuple[str, str]  # what the killed run printed: stdout, stderr
    finished_before_kill: int  # filter tasks done when it was killed


@pytest.fixture(scope="module")
def s3_run(s3_server, s3_crawl, tmp_path_factory) -> S3Run:
    """The run SIGKILLed during the filter stage (its tasks' progress counters are written, no task has
    finished), then the same command again, which skips what finished: one run that must end as the local
    run that went through once did (one run instead of two: an uninterrupted run on s3 gives nothing more)."""
    cwd = tmp_path_factory.mktemp("s3_run")
    url = f"s3://{BUCKET}/out"
    args = run_on_s3(cwd, s3_crawl, url)
    killed = kill_during_filter(s3_server, args, cwd, url, tmp_path_factory.mktemp("killed"))
    finished = len(s3_server.objects(f"{url}/logs/filter/completions"))
    result = run_cli_s3(s3_server, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return S3Run(url, s3_server.download(url, cwd / "copy"), result, cwd, killed, finished)


def kill_during_filter(s3_server, args: list[str], cwd: Path, url: str, logs: Path) -> tuple[str, str]:
    from finemill import storage

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FINEMILL_CACHE", str(s3_server.cache))
        progress = storage.local_cache(url, "progress") / "filter"  # where the filter tasks count documents
    with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "finemill.cli", *args],
            cwd=cwd,
            env=s3_server.env,
            start_new_session=True,
            stdout=stdout,
            stderr=stderr,
        )
        deadline = time.monotonic() + 300
        while not list(progress.glob("*.json")):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(2.0)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return (logs / "stdout").read_text(), (logs / "stderr").read_text()


# ---------------------------------------------------------------------------------------------------------
# The shared run (slow: a whole run of the recipe)


@pytest.mark.slow
def test_a_killed_and_rerun_run_on_object_storage_gives_the_local_documents_and_counts(s3_run, uninterrupted):
    import json

    assert_same_outputs(s3_run.copy, uninterrupted)  # kept and every step's removed documents: ids, text
    stats = json.loads((s3_run.copy / "stats.json").read_text())
    local = json.loads((uninterrupted / "stats.json").read_text())
    counts = [
        [(s["name"], s["docs_in"], s["docs_out"], s["removed"]) for s in run["steps"]]
        for run in (stats, local)
    ]
    assert counts[0] == counts[1]
    reader = [{k: v for k, v in run["reader"].items() if k != "time_s"} for run in (stats, local)]
    assert reader[0] == reader[1] and reader[0]["files"] == 2  # documents, characters, skipped records
    assert stats["inputs"] == [f"s3://{BUCKET}/crawl/sample-{part}.warc.gz" for part in range(2)]
    assert (s3_run.copy / "README.md").read_text().count("sample-0.warc.gz") == 1  # the dataset card
    for stage in ("filter", "buckets", "clusters", "finalize"):  # datatrove's resume markers, on s3
        assert list((s3_run.copy / "logs" / stage / "completions").iterdir())
    assert sorted(p.name for p in s3_run.cwd.iterdir()) == ["copy", RESUMABLE_RECIPE]  # nothing written here
    assert f"stats: s3://{BUCKET}/out/stats.json" in s3_run.result.stdout


@pytest.mark.slow
def test_stats_and_inspect_read_the_run_on_object_storage(s3_run, s3_env, capsys):
    shown = {}
    for where in (s3_run.url, str(s3_run.copy)):
        assert cli_main(["stats", where]) == 0
        assert cli_main(["inspect", where, "--step", "gopher_quality", "-n", "2"]) == 0
        # the tables wrap where the folder's name is longer: compared without line breaks and padding
        shown[where] = "".join(capsys.readouterr().out.split()).replace(where, "OUT")
    assert shown[s3_run.url] == shown[str(s3_run.copy)]  # the same tables and the same examples
    assert "gopher_quality" in shown[s3_run.url] and "measure" in shown[s3_run.url]


@pytest.mark.slow
def test_credentials_appear_in_nothing_a_run_writes_or_prints(s3_run, s3_server):
    printed = (s3_run.result.stdout, s3_run.result.stderr, *s3_run.killed)
    assert_no_secret(*printed, folders=(s3_run.copy, s3_server.cache))


@pytest.mark.slow
def test_the_killed_run_had_work_left_that_the_rerun_did(s3_run):
    assert s3_run.finished_before_kill < 2, "the kill came after the filter stage"
    assert "stats: s3://" not in s3_run.killed[0]  # it never got to the end


# ---------------------------------------------------------------------------------------------------------
# Quick: inputs, planned writers, one-line errors


def test_inputs_on_object_storage_are_listed_like_local_ones(s3_env, s3_crawl):
    from finemill.pipeline.inputs import find_inputs

    expected = [f"{s3_crawl}/sample-{part}.warc.gz" for part in range(2)]
    for given in (s3_crawl, f"{s3_crawl}/", f"{s3_crawl}/*.gz"):  # a prefix, a "folder", a glob
        inputs = find_inputs([given])
        assert inputs.files == {"crawl": expected}, given
    assert find_inputs([s3_crawl]).skipped == {"notes.txt": "not a crawl or text file (.txt)"}
    assert find_inputs([expected[1]]).files == {"crawl": expected[1:]}  # one object named
    with pytest.raises(FinemillError, match="input not found"):
        find_inputs([f"s3://{BUCKET}/no-such-prefix/*.warc.gz"])


@pytest.mark.slow
def test_every_planned_writer_is_beneath_out_on_object_storage(s3_env, s3_crawl):
    from finemill import run_folder
    from finemill.pipeline.inputs import find_inputs
    from finemill.pipeline.plan import plan_stages
    from finemill.pipeline.recipe import load_recipe

    out = run_folder.make_output_folder(f"s3://{BUCKET}/planned")
    stages = plan_stages(load_recipe(None, {"output": str(out)}), find_inputs([s3_crawl]), out)
    writers = [
        getattr(step, attribute)
        for stage in stages
        for step in stage.pipeline
        for attribute in ("output_folder", "exclusion_writer")
        if getattr(step, attribute, None) is not None
    ]
    folders = [w if hasattr(w, "fs") else w.output_folder for w in writers]
    assert len(folders) >= 10  # documents, work files, MinHash folders, one removed/<step> per removing step
    for folder in folders:
        assert "s3" in folder.fs.protocol and folder.path.startswith(f"{BUCKET}/planned/"), folder.path


def one_line_error(capsys, argv: list[str]) -> str:
    """Run `finemill ARGV` here; it must fail with exit code 2 and one line, without the secret key."""
    code = cli_main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert_no_secret(captured.out, captured.err)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith(f"finemill {argv[0]}: error: ")
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--input", "s3://no-such-bucket/crawl/*.warc.gz", "--output", "{tmp}/out"],
        ["run", "--input", "{crawl}", "--output", "s3://no-such-bucket/out"],
        ["stats", "s3://no-such-bucket/out"],
        ["tokenize", "s3://no-such-bucket/out"],
    ],
    ids=["run-input", "run-output", "stats", "tokenize"],
)
def test_a_missing_bucket_is_one_line(s3_env, s3_crawl, capsys, tmp_path, argv):
    argv = [a.format(tmp=tmp_path, crawl=s3_crawl) for a in argv]
    line = one_line_error(capsys, argv)
    assert f"no bucket 'no-such-bucket' at {s3_env.endpoint}" in line


def test_denied_access_is_one_line(s3_env, s3_crawl, capsys, tmp_path):
    s3_env.enforce_auth(True)  # the dummy credentials are unknown to the server: every request is denied
    try:
        lines = [
            one_line_error(capsys, ["stats", f"s3://{BUCKET}/out"]),
            one_line_error(capsys, ["run", "--input", s3_crawl, "--output", str(tmp_path / "out")]),
        ]
    finally:
        s3_env.enforce_auth(False)
    for line in lines:
        assert f"access to bucket '{BUCKET}' at {s3_env.endpoint} denied: check the credentials" in line


def test_an_unreachable_endpoint_is_one_line(s3_env, capsys, monkeypatch):
    from s3fs import S3FileSystem

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries would only make the test slower
    S3FileSystem.clear_instance_cache()
    line = one_line_error(capsys, ["stats", f"s3://{BUCKET}/out"])
    assert line.endswith(f"s3://{BUCKET}/out: cannot reach the storage endpoint at {closed}")
