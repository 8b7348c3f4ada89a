"""`finemill download`: a Common Crawl snapshot's WARC files into a local cache (the client: download.py).

`add_snapshot_arguments` is shared with `finemill run --snapshot`, which downloads before it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finemill.commoncrawl.download import DEFAULT_BASE_URL
from finemill.errors import FinemillError

HELP = """Download WARC files of a Common Crawl snapshot into a local cache.

Reads crawl-data/SNAPSHOT/warc.paths.gz from the base URL, takes --files entries starting at --offset,
and downloads them into CACHE/SNAPSHOT/crawl-data/SNAPSHOT/segments/.../warc/*.warc.gz (Common Crawl's
layout). Dropped connections, timeouts, 429 and 5xx are retried with exponential backoff, resuming
partial files (HTTP Range); a file appears under its final name only when its size is verified.
A rerun skips finished files and resumes interrupted ones. Snapshots: https://commoncrawl.org/overview
Then: finemill run --input CACHE/SNAPSHOT  (or finemill run --snapshot SNAPSHOT --files N)"""


def add_snapshot_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    """--snapshot, --files, --offset, --base-url, --cache: shared by `finemill download` and `finemill run`."""
    parser.add_argument(
        "--snapshot",
        required=required,
        metavar="CC-MAIN-YYYY-WW",
        help="Common Crawl snapshot, e.g. CC-MAIN-2024-33",
    )
    parser.add_argument(
        "--files",
        type=int,
        required=required,
        metavar="N",
        help="how many WARC files of the snapshot (about 1 GB each on Common Crawl)",
    )
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        metavar="K",
        help="skip the first K files of the snapshot's paths list (default: 0)",
    )
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"where crawl-data/ lives (default: {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="download folder (default: $FINEMILL_CACHE or ~/.cache/finemill/commoncrawl)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download Common Crawl WARC files into a local cache",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_snapshot_arguments(parser, required=True)
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="parallel downloads (default: 1; 2-4 is plenty for one machine)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=5,
        metavar="N",
        help="retries per file after a transient failure, with backoff 1, 2, 4, ... s (default: 5)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=download_command)


def download_command(args: argparse.Namespace) -> int:
    if args.retries < 0 or args.workers < 1:
        raise FinemillError("--retries must be >= 0 and --workers >= 1")
    from finemill.commoncrawl.download import default_cache_dir, download_snapshot

    paths = download_snapshot(
        args.snapshot,
        args.files,
        args.offset,
        base_url=args.base_url,
        cache_dir=args.cache,
        workers=args.workers,
        progress=not args.quiet,
        retries=args.retries,
    )
    root = (Path(args.cache).expanduser() if args.cache else default_cache_dir()) / args.snapshot
    print(f"{len(paths)} WARC file(s) of {args.snapshot} in {root}")
    return 0
