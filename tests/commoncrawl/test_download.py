"""`finemill download` against a real HTTP server on 127.0.0.1 that drops connections and answers 503."""

from __future__ import annotations

import gzip
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from finemill.commoncrawl.download import download_file, download_snapshot, snapshot_paths
from finemill.errors import FinemillError

SNAPSHOT = "CC-MAIN-2099-01"
WARC_DIR = f"crawl-data/{SNAPSHOT}/segments/4099000000000.0/warc"
# Two real files (the bundled sample split in two) and one the paths file lists but the server lacks.
RELATIVE = [f"{WARC_DIR}/{SNAPSHOT}-2099010100000{i}-0000{i}.warc.gz" for i in range(3)]
FAST = {"retries": 3, "backoff_s": 0.0}


@pytest.fixture(scope="module")
def crawl_root(tmp_path_factory) -> Path:
    """What the server serves: crawl-data/SNAPSHOT/warc.paths.gz and two WARC files."""
    from finemill.demo.crawl import write_sample_warc

    root = tmp_path_factory.mktemp("crawl")
    for part, relative in enumerate(RELATIVE[:2]):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_sample_warc(root / relative, part=part, parts=2)
    (root / f"crawl-data/{SNAPSHOT}/warc.paths.gz").write_bytes(
        gzip.compress("\n".join(RELATIVE).encode() + b"\n")
    )
    return root


class CrawlServer:
    """State shared with the handler: the requests seen, and faults to inject per URL path, consumed in
    order: "drop" (full Content-Length, half the body, then close), "503", "ignore-range" (answer 200)."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.faults: dict[str, list[str]] = {}
        self.always_503: set[str] = set()
        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def gets(self, path: str) -> list[str | None]:
        """Range headers of the GETs for `path` (None: no Range)."""
        return [rng for p, rng in self.requests if p == "/" + path]

    def next_fault(self, path: str, range_header: str | None) -> str | None:
        """Record the request; the fault to inject into its answer, if any."""
        with self.lock:
            self.requests.append((path, range_header))
            queue = self.faults.get(path, [])
            return "503" if path in self.always_503 else (queue.pop(0) if queue else None)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def handler(self) -> type:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                fault = server.next_fault(self.path, self.headers.get("Range"))
                if fault == "503":
                    self.send_error(503, "Slow Down")
                    return
                file = (server.root / self.path.lstrip("/")).resolve()
                if not file.is_relative_to(server.root.resolve()) or not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                if fault == "drop":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True  # the handler closes the socket: the client sees EOF
                    return
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                start = int(match[1]) if match and fault != "ignore-range" else 0
                if start >= len(data) and match:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

        return Handler


@pytest.fixture
def server(crawl_root):
    srv = CrawlServer(crawl_root)
    yield srv
    srv.close()


def test_download_survives_a_dropped_connection_and_503s(server, crawl_root, tmp_path):
    server.faults["/" + RELATIVE[0]] = ["drop"]
    server.faults["/" + RELATIVE[1]] = ["503", "503"]
    paths = download_snapshot(SNAPSHOT, 2, 0, server.base_url, tmp_path, progress=False, **FAST)
    assert paths == [tmp_path / SNAPSHOT / r for r in RELATIVE[:2]]
    for path, relative in zip(paths, RELATIVE, strict=False):
        assert path.read_bytes() == (crawl_root / relative).read_bytes()
    ranges = server.gets(RELATIVE[0])
    assert len(ranges) == 2 and ranges[0] is None
    assert ranges[1] == f"bytes={(crawl_root / RELATIVE[0]).stat().st_size // 2}-"  # resumed, not restarted
    assert server.gets(RELATIVE[1]) == [None, None, None]
    assert not list(tmp_path.rglob("*.part"))

    before = len(server.requests)
    assert download_snapshot(SNAPSHOT, 2, 0, server.base_url, tmp_path, progress=False, **FAST) == paths
    assert [p for p, _ in server.requests[before:] if p.endswith(".warc.gz")] == []  # nothing fetched again


def test_parallel_download_and_offset(server, crawl_root, tmp_path):
    server.faults["/" + RELATIVE[0]] = ["drop"]
    paths = download_snapshot(SNAPSHOT, 2, 0, server.base_url, tmp_path, workers=2, progress=False, **FAST)
    assert [p.read_bytes() for p in paths] == [(crawl_root / r).read_bytes() for r in RELATIVE[:2]]
    assert snapshot_paths(SNAPSHOT, server.base_url, tmp_path, files=5, offset=1) == RELATIVE[1:]


def test_a_server_that_ignores_range_restarts_from_zero(server, crawl_root, tmp_path):
    original = (crawl_root / RELATIVE[1]).read_bytes()
    target = tmp_path / "file.warc.gz"
    target.with_suffix(".gz.part").write_bytes(original[:1000])
    server.faults["/" + RELATIVE[1]] = ["ignore-range"]
    received: list[int] = []
    download_file(server.base_url + RELATIVE[1], target, progress=received.append, **FAST)
    assert target.read_bytes() == original and not target.with_suffix(".gz.part").exists()
    assert server.gets(RELATIVE[1]) == ["bytes=1000-"]
    assert sum(received) == len(original) - 1000  # the progress bar took back the discarded bytes


def test_a_complete_part_file_is_finished_without_a_body(server, crawl_root, tmp_path):
    original = (crawl_root / RELATIVE[1]).read_bytes()
    target = tmp_path / "file.warc.gz"
    target.with_suffix(".gz.part").write_bytes(original)  # killed between the last byte and the rename
    download_file(server.base_url + RELATIVE[1], target, **FAST)
    assert target.read_bytes() == original
    assert server.gets(RELATIVE[1]) == [f"bytes={len(original)}-"]  # answered 416 with the size


def test_always_503_fails_after_the_retries_with_backoff(server, tmp_path):
    server.always_503.add("/" + RELATIVE[0])
    sleeps: list[float] = []
    target = tmp_path / "x.warc.gz"
    with pytest.raises(FinemillError, match=r"after 4 attempts: http://127\.0\.0\.1:\d+/.*HTTP 503"):
        download_file(server.base_url + RELATIVE[0], target, retries=3, backoff_s=0.5, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.gets(RELATIVE[0])) == 4 and not target.exists()


def test_404s_and_bad_names_fail_at_once(server, tmp_path):
    with pytest.raises(FinemillError, match=r"HTTP 404"):
        download_snapshot(SNAPSHOT, 1, 2, server.base_url, tmp_path, progress=False, **FAST)
    assert len(server.gets(RELATIVE[2])) == 1  # a 404 is not retried
    assert not (tmp_path / SNAPSHOT / RELATIVE[2]).exists()
    with pytest.raises(FinemillError, match=r"snapshot CC-MAIN-2099-02 not found .*HTTP 404"):
        snapshot_paths("CC-MAIN-2099-02", server.base_url, tmp_path, files=1)
    with pytest.raises(FinemillError, match=r"bad snapshot name 'CC-MAIN-2099'"):
        snapshot_paths("CC-MAIN-2099", server.base_url, tmp_path, files=1)
    with pytest.raises(FinemillError, match=r"lists 3 WARC files: --offset 3 selects none"):
        snapshot_paths(SNAPSHOT, server.base_url, tmp_path, files=1, offset=3)


def _download_command() -> list[str]:
    return [sys.executable, "-m", "finemill.cli", "download"]


def test_command_line(server, crawl_root, tmp_path):
    args = ["--snapshot", SNAPSHOT, "--files", "2", "--base-url", server.base_url, "--cache", str(tmp_path)]
    result = subprocess.run(
        [*_download_command(), *args, "--workers", "2"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert f"2 WARC file(s) of {SNAPSHOT} in {tmp_path / SNAPSHOT}" in result.stdout
    assert (tmp_path / SNAPSHOT / RELATIVE[1]).read_bytes() == (crawl_root / RELATIVE[1]).read_bytes()
    result = subprocess.run(
        [*_download_command(), *args, "--offset", "9"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"finemill download: error: {SNAPSHOT} lists 3 WARC files: --offset 9 selects none"
    )


@pytest.mark.slow  # a whole run (~6 s): out of the quick subset, which stays under 3 minutes
def test_the_recipe_gives_the_same_documents_from_downloaded_files(server, crawl_root, tmp_path):
    from finemill.pipeline.recipe import load_recipe
    from finemill.pipeline.run import run_recipe

    server.faults["/" + RELATIVE[0]] = ["drop"]
    server.faults["/" + RELATIVE[1]] = ["503", "503"]
    downloaded = download_snapshot(
        SNAPSHOT, 2, 0, server.base_url, tmp_path / "cache", progress=False, **FAST
    )
    documents = []
    for name, inputs in (
        ("local", [str(crawl_root / r) for r in RELATIVE[:2]]),
        ("http", [str(p) for p in downloaded]),
    ):
        recipe = load_recipe(None, {"input": inputs, "output": str(tmp_path / name), "workers": 1})
        recipe.steps = [s for s in recipe.steps if s.name in ("extract", "language")]
        for step in recipe.steps:  # 60 s, not 1 s: a page timing out under load in one run only differs
            if step.name == "extract":
                step.params["timeout"] = 60.0
        run_recipe(recipe, progress=False)
        docs = pd.read_parquet(tmp_path / name / "documents")
        documents.append(sorted(zip(docs.url, docs.text, strict=True)))
    assert len(documents[0]) > 100
    assert documents[0] == documents[1]


@pytest.mark.slow  # a whole run (~6 s): out of the quick subset, which stays under 3 minutes
def test_run_on_a_snapshot_downloads_then_runs(server, crawl_root, tmp_path):
    server.faults["/" + RELATIVE[0]] = ["drop"]
    recipe = tmp_path / "quick.yaml"
    recipe.write_text("name: quick\nsteps:\n  - extract: {}\n  - language: {}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "finemill.cli",
            "run",
            str(recipe),
            "--snapshot",
            SNAPSHOT,
            "--files",
            "2",
            "--base-url",
            server.base_url,
            "--cache",
            str(tmp_path / "cache"),
            "--output",
            str(tmp_path / "out"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    docs = pd.read_parquet(tmp_path / "out" / "documents")
    assert len(docs) > 100 and (docs.dump == SNAPSHOT).all()
    assert len(server.gets(RELATIVE[0])) == 2  # dropped once, resumed
