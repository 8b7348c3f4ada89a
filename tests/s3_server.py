"""A local S3-compatible server for the object-storage tests: moto's server mode on 127.0.0.1, one per session.

Tests reach it the way a user reaches any S3-compatible store: dummy credentials in AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL naming the server; finemill is given nothing else. `s3_server.env`
is that environment for a `finemill` subprocess; the `s3_env` fixture sets it in this process (and drops s3fs'
cached clients, which hold the endpoint they were made with). Skips when moto, boto3, s3fs or
universal-pathlib is missing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Dummy credentials. The secret is a string no output of finemill may ever contain.
KEY_ID = "AKIAFINEMILLTESTKEY0"
SECRET = "finemill-test-secret-8d1f6c2a9e7b4"
AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    cache: Path  # FINEMILL_CACHE of every command: the local copies of remote folders
    env: dict[str, str] = field(default_factory=dict)

    def variables(self, endpoint: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "FINEMILL_CACHE": str(self.cache),
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )

    def bucket(self, name: str) -> str:
        """Create bucket `name` (once) and return its URL, s3://name."""
        client = self.client()
        if name not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=name)
        return f"s3://{name}"

    def upload(self, local: Path, url: str) -> None:
        """Upload a file, or every file under a folder, to the prefix `url` (s3://bucket/prefix)."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for path in files:
            key = prefix if local.is_file() else f"{prefix}/{path.relative_to(local).as_posix()}"
            self.client().upload_file(str(path), bucket, key)

    def objects(self, url: str) -> dict[str, bytes]:
        """Every object under `url`: key relative to it -> content."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        client, found = self.client(), {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"].removeprefix(f"{prefix}/")] = body
        return found

    def download(self, url: str, local: Path) -> Path:
        for relative, body in self.objects(url).items():
            (local / relative).parent.mkdir(parents=True, exist_ok=True)
            (local / relative).write_bytes(body)
        return local

    def enforce_auth(self, on: bool) -> None:
        """Make the server check credentials (on: the dummy ones are unknown to it, so every request is
        denied) or accept anything again (moto's own switch, /moto-api/reset-auth)."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "application/octet-stream"},  # not a form: moto reads the raw body
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    for module in ("boto3", "s3fs", "upath", "moto.server"):
        pytest.importorskip(module, reason=f"object storage tests need {module}")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("finemill-cache"))
    s3.env = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES} | s3.variables()
    yield s3
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> S3Server:
    """The server's credentials and endpoint in this process's environment, with fresh s3fs clients."""
    from s3fs import S3FileSystem

    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.variables().items():
        monkeypatch.setenv(name, value)
    S3FileSystem.clear_instance_cache()
    yield s3_server
    S3FileSystem.clear_instance_cache()


def run_cli_s3(s3: S3Server, *args: str, cwd: Path | None = None, timeout: float = 600, **env: str):
    """`finemill ARGS...` in a fresh process with the server's environment (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "finemill.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**s3.env, **env},
    )


def assert_no_secret(*texts: str | bytes, folders: tuple[Path, ...] = ()) -> None:
    """The secret key appears in none of `texts` and in no file under `folders`."""
    for text in texts:
        assert (SECRET.encode() if isinstance(text, bytes) else SECRET) not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
