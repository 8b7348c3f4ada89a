"""Common Crawl over HTTP: a snapshot's WARC files into a local cache, robustly.

`download_snapshot` (behind `finemill download --snapshot CC-MAIN-2024-33 --files 4`: cli.py) reads the
snapshot's `warc.paths.gz`, picks `files` entries from `offset`, and downloads them into
`CACHE/<snapshot>/<path in the crawl>` (Common Crawl's own layout). Each file is streamed into
`<name>.part` and renamed only once its size matches the server's Content-Length, so a file under its
final name is always complete. A dropped connection, a timeout, 429 or 5xx is retried with exponential
backoff, resuming where it stopped (HTTP Range). A rerun skips the files already there and resumes the
`.part` files an interrupted run left behind.

Only the standard library speaks HTTP here (urllib): no third-party HTTP client to install. urllib and
tqdm are imported inside the functions, so `finemill --help` does not pay for them.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from finemill.errors import FinemillError

DEFAULT_BASE_URL = "https://data.commoncrawl.org/"
SNAPSHOT_NAME = re.compile(r"CC-MAIN-\d{4}-\d{2}")
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0  # per connect / per read: a stalled connection becomes a retry, not a hang
SNAPSHOT_LIST = "https://index.commoncrawl.org/collinfo.json"

Progress = Callable[[int], object]  # called with each number of bytes received (tqdm's `update` fits)


class HTTPStatusError(FinemillError):
    """The server answered with a status that retrying will not fix (4xx other than 429)."""

    def __init__(self, url: str, code: int, reason: str):
        super().__init__(f"HTTP {code} {reason}: {url}")
        self.url, self.code = url, code


class _Transient(Exception):
    """A failure worth retrying: dropped connection, timeout, short body, 429, 5xx."""


class _Cancelled(Exception):
    """Another download failed or the user pressed Ctrl-C: stop this one, keep its .part for a rerun."""


def default_cache_dir() -> Path:
    """$FINEMILL_CACHE, else $XDG_CACHE_HOME/finemill/commoncrawl, else ~/.cache/finemill/commoncrawl."""
    if os.environ.get("FINEMILL_CACHE"):
        return Path(os.environ["FINEMILL_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "finemill" / "commoncrawl"


def check_snapshot(snapshot: str) -> str:
    if not SNAPSHOT_NAME.fullmatch(snapshot or ""):
        raise FinemillError(f"bad snapshot name {snapshot!r}: expected CC-MAIN-YYYY-WW, e.g. CC-MAIN-2024-33")
    return snapshot


def crawl_url(base_url: str, relative: str) -> str:
    return base_url.rstrip("/") + "/" + relative.lstrip("/")


# ---------------------------------------------------------------------------------------------- one file


def download_file(
    url: str,
    target: Path,
    retries: int = 5,
    backoff_s: float = 1.0,
    progress: Progress | None = None,
    sleep: Callable[[float], object] = time.sleep,
    timeout_s: float = TIMEOUT_S,
) -> Path:
    """Download `url` to `target` (skipped when `target` exists) through `target.part`, resuming a partial
    `.part` with HTTP Range. Retries transient failures `retries` times, sleeping `backoff_s * 2**i` before
    retry i. Raises FinemillError at once for 4xx other than 429, and after the last retry otherwise."""
    target = Path(target)
    if target.is_file():
        return target
    part = target.with_suffix(target.suffix + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
        try:
            _fetch_once(url, part, progress, timeout_s)
        except _Transient as e:
            last_error = e
            continue
        part.replace(target)  # atomic: the final name only ever holds a complete file
        return target
    raise FinemillError(f"download failed after {retries + 1} attempts: {url}: {last_error}")


def _fetch_once(url: str, part: Path, progress: Progress | None, timeout_s: float) -> None:
    """One request: append to `part` from its current size. Returns when `part` holds the whole file;
    raises _Transient (retry), or FinemillError (do not)."""
    import http.client
    import urllib.error
    import urllib.request

    from finemill import __version__

    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"finemill/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        request = urllib.request.Request(url, headers=headers)
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as e:
        _raise_for_status(e, url, part, have)
        return  # 416 to the Range of a .part that is already complete
    except (
        ValueError,
        http.client.InvalidURL,
    ) as e:  # no scheme, unknown scheme, bad characters: a typo, not a network issue
        raise FinemillError(f"bad URL {url!r}: {e}") from None
    except (OSError, http.client.HTTPException) as e:  # refused, reset, DNS, timeout, bad status line
        raise _Transient(f"{type(e).__name__}: {e}") from None
    with response:
        start, total = _response_range(response, have)
        if start > have:  # a range beyond what we hold would leave a hole: start over
            part.unlink(missing_ok=True)
            raise _Transient(f"server sent bytes from {start}, we hold {have}; restarting")
        if start < have:  # typically 200: the server ignored Range and sends the whole file again
            if progress:
                progress(start - have)
            _truncate(part, start)
        _stream_body(response, part, progress)
    _check_size(part, total)


def _raise_for_status(error, url: str, part: Path, have: int) -> None:
    error.close()
    if error.code == 416 and have:  # our Range starts at or past the end: complete, or a stale .part
        total = _content_range_total(error.headers.get("Content-Range", ""))
        if total == have:
            return
        part.unlink(missing_ok=True)
        raise _Transient(f"stale partial file ({have} bytes, server has {total}); restarting")
    if error.code == 429 or error.code >= 500:
        raise _Transient(f"HTTP {error.code} {error.reason}")
    raise HTTPStatusError(url, error.code, str(error.reason))


def _response_range(response, have: int) -> tuple[int, int | None]:
    """(offset where the body starts in the file, total file size or None if the server does not say)."""
    length = response.headers.get("Content-Length")
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", "").strip())
        if match is None:
            raise _Transient(f"unreadable Content-Range {response.headers.get('Content-Range')!r}")
        return int(match[1]), (int(match[3]) if match[3] != "*" else None)
    return 0, (int(length) if length and length.isdigit() else None)


def _content_range_total(value: str) -> int | None:
    match = re.search(r"/(\d+)\s*$", value)
    return int(match[1]) if match else None


def _truncate(part: Path, size: int) -> None:
    with part.open("r+b" if part.exists() else "wb") as f:
        f.truncate(size)


def _stream_body(response, part: Path, progress: Progress | None) -> None:
    import http.client

    try:
        with part.open("ab") as f:
            # Bounded by the server's body: read() returns b"" at its end or when the connection drops.
            while chunk := response.read(CHUNK_BYTES):
                f.write(chunk)
                if progress:
                    progress(len(chunk))
    except (OSError, http.client.HTTPException) as e:  # reset, timeout, IncompleteRead (chunked bodies)
        raise _Transient(
            f"connection lost after {part.stat().st_size} bytes: {type(e).__name__}: {e}"
        ) from None


def _check_size(part: Path, total: int | None) -> None:
    """urllib does not flag a body cut short when the connection closes: the size check is what does."""
    size = part.stat().st_size if part.exists() else 0
    if total is None or size == total:
        return
    if size > total:  # cannot be a prefix of the file any more: start over
        part.unlink()
        raise _Transient(f"got {size} bytes, more than the {total} announced; restarting")
    raise _Transient(f"connection dropped at {size} of {total} bytes")


# ------------------------------------------------------------------------------------------- snapshots


def snapshot_paths(
    snapshot: str,
    base_url: str,
    cache_dir: Path,
    files: int,
    offset: int = 0,
    retries: int = 5,
    backoff_s: float = 1.0,
) -> list[str]:
    """Relative paths (`crawl-data/...warc.gz`) of WARC files offset..offset+files-1 of the snapshot, from
    its `warc.paths.gz` (downloaded once into the cache: a published snapshot does not change)."""
    check_snapshot(snapshot)
    if files < 1 or offset < 0:
        raise FinemillError(f"--files must be >= 1 and --offset >= 0 (got files={files}, offset={offset})")
    relative = f"crawl-data/{snapshot}/warc.paths.gz"
    local = Path(cache_dir).expanduser() / snapshot / relative
    try:
        download_file(crawl_url(base_url, relative), local, retries=retries, backoff_s=backoff_s)
    except HTTPStatusError as e:
        raise FinemillError(
            f"snapshot {snapshot} not found at {base_url} (HTTP {e.code} for {relative}); "
            f"the list of snapshots: {SNAPSHOT_LIST}"
        ) from None
    paths = _read_paths(local)
    selected = paths[offset : offset + files]
    if not selected:
        raise FinemillError(f"{snapshot} lists {len(paths)} WARC files: --offset {offset} selects none")
    return selected


def _read_paths(local: Path) -> list[str]:
    try:
        lines = gzip.decompress(local.read_bytes()).decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as e:
        local.unlink(missing_ok=True)  # do not keep a bad copy in the cache: the next run fetches it again
        raise FinemillError(f"{local}: not a gzipped list of paths ({e})") from None
    paths = [line.strip() for line in lines if line.strip()]
    for path in paths:  # they become local file names: none may leave the cache folder
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            raise FinemillError(f"{local}: unsafe path in the paths file: {path!r}")
    return paths


def download_snapshot(
    snapshot: str,
    files: int,
    offset: int = 0,
    base_url: str = DEFAULT_BASE_URL,
    cache_dir: Path | str | None = None,
    workers: int = 1,
    progress: bool = True,
    retries: int = 5,
    backoff_s: float = 1.0,
) -> list[Path]:
    """Download WARC files offset..offset+files-1 of `snapshot` into `cache_dir/<snapshot>/<path>` and
    return their local paths in the paths file's order. Files already there are not fetched again."""
    cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    relative = snapshot_paths(snapshot, base_url, cache_dir, files, offset, retries, backoff_s)
    targets = [cache_dir / snapshot / path for path in relative]
    todo = [
        (crawl_url(base_url, path), target)
        for path, target in zip(relative, targets, strict=True)
        if not target.is_file()
    ]
    if todo:
        _download_all(todo, snapshot, max(1, workers), progress, retries, backoff_s)
    return targets


def _download_all(
    todo: list[tuple[str, Path]], snapshot: str, workers: int, progress: bool, retries: int, backoff_s: float
) -> None:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    # Total unknown until each response arrives: the bar shows bytes and MB/s, the files count in its label.
    with tqdm(
        desc=f"{snapshot} 0/{len(todo)} files",
        unit="B",
        unit_scale=True,
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        lock, done, stop = threading.Lock(), [0], threading.Event()

        def update(n: int) -> None:  # called for every chunk: also where a download learns it must stop
            if stop.is_set():
                raise _Cancelled()
            with lock:
                bar.update(n)

        def fetch(url: str, target: Path) -> None:
            download_file(url, target, retries=retries, backoff_s=backoff_s, progress=update)
            with lock:
                done[0] += 1
                bar.set_description(f"{snapshot} {done[0]}/{len(todo)} files")

        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = [pool.submit(fetch, url, target) for url, target in todo]
            try:
                for future in as_completed(futures):
                    future.result()  # the first failure (a FinemillError naming its URL) ends the batch
            except BaseException:  # also Ctrl-C: stop the others at their next chunk, keep their .part
                stop.set()
                for future in futures:
                    future.cancel()
                raise
