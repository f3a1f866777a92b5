"""Memory stays flat (DESIGN: "nothing holds a whole backup in memory"): a 200 MiB object
written through storage.write_chunks to S3 grows the process by a few parts, not by 200 MiB.

It runs in a fresh Python process configured only by the environment variables a deployment
sets (BACKUPSITE_STORAGE=s3, S3_*), and reads the kernel's peak resident size (VmHWM) after
resetting it, so nothing the test runner holds blurs the figure.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from backups import storage

MiB = 1024 * 1024
SIZE = 200 * MiB
LIMIT = 50 * MiB
REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, json, os, sys

import django

django.setup()
from backups import storage


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024


def chunks(total, size=1024 * 1024):
    block = hashlib.sha256(b"seed").digest() * (size // 32)
    for i in range(total // size):
        yield block[i % 32 :] + block[: i % 32]  # every chunk differs from its neighbour


# Warm up: a multipart write loads and builds everything the big one uses.
storage.write_chunks("warm-up.bin", chunks(2 * storage.PART_SIZE))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
before = status("VmRSS")
written = storage.write_chunks("big/200MiB.bin", chunks(int(sys.argv[1])))
print(json.dumps({
    "before": before,
    "peak": status("VmHWM"),
    "size": written.size,
    "sha256": written.sha256,
    "stored": storage.object_size("big/200MiB.bin"),
}))
"""


def expected_sha256(total: int) -> str:
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)
    digest = hashlib.sha256()
    for i in range(total // MiB):
        digest.update(block[i % 32 :] + block[: i % 32])
    return digest.hexdigest()


def test_a_200_mib_write_to_s3_grows_the_process_by_less_than_50_mib(s3_storage):
    server = s3_storage.server
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backupsite.settings",
        "DJANGO_DEBUG": "1",
        "BACKUPSITE_STORAGE": "s3",
        "S3_ENDPOINT_URL": server.endpoint,
        "S3_ACCESS_KEY_ID": server.storage_options("x")["access_key"],
        "S3_SECRET_ACCESS_KEY": server.storage_options("x")["secret_key"],
        "S3_ATTACHMENTS_BUCKET": s3_storage.attachments,
        "S3_BACKUPS_BUCKET": s3_storage.backups,
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(SIZE)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])

    assert (figures["size"], figures["stored"]) == (SIZE, SIZE)
    assert figures["sha256"] == expected_sha256(SIZE)
    growth = figures["peak"] - figures["before"]
    print(f"write_chunks of {SIZE // MiB} MiB to S3: peak RSS grew by {growth / MiB:.1f} MiB")
    assert growth < LIMIT, f"the process grew by {growth / MiB:.1f} MiB"
    assert storage.object_size("big/200MiB.bin") == SIZE  # the test's own view of the bucket
