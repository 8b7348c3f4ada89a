"""Where a run folder, an input or a tokens folder lives: the local filesystem, or object storage.

A path with a scheme (`s3://bucket/prefix`, and any other fsspec protocol but `file://`) is remote: it is
read and written through fsspec (s3fs for `s3://`), as datatrove's own `DataFolder` does, and handled as a
`UPath`, whose `/`, `read_text`, `write_text`, `glob`, `is_file` and `iterdir` behave like pathlib's. Local
paths stay `pathlib.Path`, exactly as before. Credentials and the endpoint come from the standard AWS
environment and config files (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `~/.aws/credentials`,
`AWS_ENDPOINT_URL` for an S3-compatible store); finemill never reads, stores or prints them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from finemill.errors import FinemillError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

# What a user sees for each way object storage can fail before anything is read or written.
_INSTALL = {
    "s3": "s3fs (pip install 'finemill[s3]')",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
}


def protocol(path: str | Path | Any) -> str | None:
    """`s3` for `s3://bucket/key`; None for a local path (`file://` included)."""
    match = _SCHEME.match(str(path)) if isinstance(path, str) else None
    if match is None and not isinstance(path, (str, Path)):
        return getattr(path, "protocol", None) or None  # a UPath
    name = match.group(1).lower() if match else None
    return None if name in (None, "file", "local") else name


def is_remote(path: str | Path | Any) -> bool:
    """Whether `path` names object storage (or another fsspec filesystem) rather than a local file."""
    return protocol(path) is not None


def as_path(path: str | Path | Any) -> Any:
    """A local path as `pathlib.Path` (`~` expanded), a remote one as a `UPath` without a trailing slash."""
    if not is_remote(path):
        return Path(path).expanduser()
    if not isinstance(path, str):
        return path
    _require_backend(path)
    _no_listings_cache()
    try:
        from upath import UPath
    except ImportError:
        raise FinemillError(
            f"{path}: object storage needs universal-pathlib (pip install 'finemill[s3]')"
        ) from None

    return UPath(str(path).rstrip("/"))


def filesystem(path: str | Any):
    """The fsspec filesystem of a remote path and the path inside it (`bucket/key`)."""
    import fsspec

    _require_backend(str(path))
    _no_listings_cache()
    fs, inner = fsspec.core.url_to_fs(str(path))
    return fs, inner


def _no_listings_cache() -> None:
    """Turn off s3fs' cache of folder listings in this process: a run's tasks write OUT from other processes
    (datatrove's completion markers above all), and a cached listing would not see them."""
    import fsspec.config

    fsspec.config.conf.setdefault("s3", {}).setdefault("use_listings_cache", False)


def _require_backend(url: str) -> None:
    name = protocol(url)
    try:
        import fsspec

        fsspec.get_filesystem_class(name)
    except ImportError:
        needs = _INSTALL.get(name, f"the fsspec package for {name}://")
        raise FinemillError(f"{url}: reading {name}:// needs {needs}") from None
    except ValueError:
        raise FinemillError(f"{url}: unknown storage protocol {name}://") from None


def check_reachable(url: str) -> None:
    """A one-line error, before any work starts, when the bucket of `url` is missing, access to it is denied,
    the endpoint cannot be reached or there are no credentials. Says nothing of the credentials themselves."""
    fs, inner = filesystem(url)
    bucket, _, key = inner.partition("/")
    try:
        if protocol(url) != "s3":
            fs.ls(bucket, detail=False)
            return
        try:
            fs.call_s3("head_bucket", Bucket=bucket)
        except PermissionError:  # a policy may grant a prefix without the bucket: try listing the prefix
            prefix = re.split(r"[*?\[]", key, maxsplit=1)[0]
            fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as e:  # every failure becomes the one line below
        raise FinemillError(f"{url}: {describe_error(e, bucket)}") from None


def describe_error(error: BaseException, bucket: str) -> str:
    """What went wrong with object storage, in words: a known case, else the error's type and the first line
    of its message (botocore's name the operation and the error code, never the credentials)."""
    name = type(error).__name__
    text = str(error)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    where = f" at {endpoint}" if endpoint else ""
    if isinstance(error, FileNotFoundError) or "NoSuchBucket" in text:
        return f"no bucket {bucket!r}{where}"
    if isinstance(error, PermissionError) or any(
        code in text for code in ("AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch")
    ):
        return (
            f"access to bucket {bucket!r}{where} denied: check the credentials (AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE, ~/.aws/credentials) and the bucket's permissions"
        )
    if name == "NoCredentialsError" or "Unable to locate credentials" in text:
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or ~/.aws/credentials"
    if "Connect" in name or "Could not connect" in text or isinstance(error, (ConnectionError, TimeoutError)):
        return f"cannot reach the storage endpoint{where or ' (AWS_ENDPOINT_URL unset: AWS itself)'}"
    first = text.splitlines()[0][:200] if text else ""  # botocore's messages name the operation, never keys
    return f"object storage error ({name}{': ' + first if first else ''})"


def parquet_file(path: Any):
    """`pyarrow.parquet.ParquetFile` of a local or remote file (a remote one is read through fsspec)."""
    import pyarrow.parquet as pq

    if not is_remote(path):
        return pq.ParquetFile(path)
    return pq.ParquetFile(
        path.open("rb") if hasattr(path, "open") else filesystem(path)[0].open(str(path), "rb")
    )


def local_cache(url: str, kind: str) -> Path:
    """A local folder that stands for remote `url` (one per url and kind), for what must be a local file:
    the progress counters of a run, a tokens folder being written or read back."""
    digest = hashlib.sha256(str(url).encode()).hexdigest()[:16]
    root = Path(os.environ.get("FINEMILL_CACHE") or Path.home() / ".cache" / "finemill")
    folder = root / "remote" / f"{kind}-{digest}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home: the system temp folder
        folder = Path(tempfile.gettempdir()) / "finemill-remote" / f"{kind}-{digest}"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def download_folder(url: str, local: Path, keep=lambda relative: True) -> int:
    """Copy the objects under `url` (those whose relative path `keep` accepts) into `local`, skipping files
    already there with the same size; returns how many were copied. Nothing under `url`: nothing copied."""
    fs, inner = filesystem(url)
    inner = inner.rstrip("/")
    copied = 0
    for key, info in sorted(fs.find(inner, detail=True).items()):
        relative = key[len(inner) + 1 :]
        if not relative or not keep(relative):
            continue
        target = local / relative
        if target.is_file() and target.stat().st_size == info.get("size"):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.download")  # torchrun ranks fetch at once
        fs.get_file(key, str(partial))
        partial.replace(target)  # a local file appears whole or not at all
        copied += 1
    return copied


def upload_folder(local: Path, url: str) -> int:
    """Copy the files under `local` (hidden ones, temporary by finemill's convention, left out) to `url`,
    skipping objects already there with the same size; returns how many were copied. An object appears
    whole when its upload ends, so a reader never sees half a file."""
    fs, inner = filesystem(url)
    inner = inner.rstrip("/")
    present = {key[len(inner) + 1 :]: info.get("size") for key, info in fs.find(inner, detail=True).items()}
    copied = 0
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        relative = path.relative_to(local).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        if present.get(relative) == path.stat().st_size and not relative.endswith(".json"):
            continue  # a finished shard never changes; the JSON files (manifest) may
        fs.put_file(str(path), f"{inner}/{relative}")
        copied += 1
    return copied
