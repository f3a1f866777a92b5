"""Run the development web server and the django-q2 worker together (`make run`).

Ctrl-C (or SIGTERM) stops both. If either one exits, the other is stopped too, so the site
never runs without its worker.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10


def start(*args: str) -> subprocess.Popen:
    # Each child leads its own process group: a terminal's Ctrl-C reaches only this launcher,
    # which then stops each child in the way that child needs.
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, start_new_session=True)


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(proc.pid, signum)


def stop(web: subprocess.Popen, worker: subprocess.Popen) -> None:
    # SIGTERM, not SIGINT: a child started from a background job ignores SIGINT. The web
    # server's whole group, since runserver's autoreloader child keeps serving if only its
    # parent dies; the worker's leader only, since qcluster stops its own processes in order
    # and signalling them all at once stalls that.
    signal_group(web, signal.SIGTERM)
    if worker.poll() is None:
        worker.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in (web, worker):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        signal_group(proc, signal.SIGKILL)  # what is left: hung, or orphaned by a crash
        proc.wait()


def answers(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host.strip("[]")  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    def on_term(signum, frame):  # Ctrl-C or SIGTERM: stop both children
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGTERM, on_term)
    web = start("runserver", f"{args.host}:{args.port}")
    worker = start("qcluster")
    procs = [web, worker]
    announced = False
    try:
        while all(p.poll() is None for p in procs):
            if not announced and answers(args.host, args.port):
                host = f"[{args.host}]" if ":" in args.host else args.host
                print(
                    f"\nbackupsite is running at http://{host}:{args.port}/ with its worker "
                    "(log in with a demo login above). Ctrl-C stops both.\n",
                    flush=True,
                )
                announced = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping the web server and the worker…", flush=True)
        stop(web, worker)
        return 0
    gone = next(p for p in procs if p.poll() is not None)
    print(f"\n{' '.join(gone.args[1:])} exited ({gone.returncode}); stopping.", flush=True)
    stop(web, worker)
    return gone.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
