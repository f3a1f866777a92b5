"""Run the development web server, the django-q2 workers and the local test site together
(`make run`): the main cluster, and the verification cluster (A3: Q_CLUSTER_NAME=verification,
its own queue).

The local test site (`python -m backups.devsite`, #11 item 7, #12) is the contract server playing
a Jira Cloud site on 127.0.0.1:8001 and a Confluence Cloud site on 127.0.0.1:8002/wiki, with
demo content: the demo's connected products point at them.

Ctrl-C, SIGTERM or SIGHUP stops all three. If any one exits, the others are stopped too, so
the site never runs without its worker, and the launcher exits non-zero.

However many signals arrive, and whenever (during start-up, during the stop), and whatever
goes wrong in the launcher itself, both children and the processes they started are gone,
and the port is free, when the launcher exits (#10): a signal handler only records the
signal, and the stop runs in a `finally`.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 10  # then SIGKILL: a task that runs for hours is not waited for
KILLED_WAIT_SECONDS = 5
POLL_SECONDS = 0.1


@dataclass
class Child:
    proc: subprocess.Popen
    # SIGTERM to the whole group: runserver's autoreloader child keeps serving if only its
    # parent dies. To the leader only: qcluster stops its own processes in order, and
    # signalling them all at once stalls that.
    term_whole_group: bool

    @property
    def name(self) -> str:
        return " ".join(self.proc.args[2:])


def start(
    *args: str, term_whole_group: bool, module: str | None = None, env: dict | None = None
) -> Child:
    """A `manage.py` command, or with `module` a `python -m module`, as a child (with `env`
    added to this process's environment)."""
    # Each child leads its own process group (and session): a terminal's Ctrl-C or hangup
    # reaches only this launcher, which then stops each child in the way that child needs,
    # and the group names everything the child started, to kill what is left at the end.
    command = ["-m", module] if module else ["manage.py"]
    proc = subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, **env} if env else None,
    )
    return Child(proc, term_whole_group)


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """Is any process of the group still running? (A zombie holds no port: it does not count.)"""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: a zombie left to init counts for a moment
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # gone while we looked
        if int(pgrp) == pgid and state not in ("Z", "X"):
            return True
    return False


def stop(children: list[Child]) -> None:
    """Stop the children, then kill what is left of their groups; return once all are gone."""
    for child in children:
        if child.term_whole_group:
            signal_group(child.proc.pid, signal.SIGTERM)
        elif child.proc.poll() is None:
            # SIGTERM, not SIGINT: a child started from a background job ignores SIGINT.
            child.proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    # What is left: a child that hung, or processes a child left behind (a worker process of
    # a qcluster that crashed, runserver's autoreloader child). A group outlives its leader.
    for child in children:
        signal_group(child.proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + KILLED_WAIT_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        while group_alive(child.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def answers(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host.strip("[]")  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


def say(text: str) -> None:
    # The terminal may be gone (SIGHUP) or the pipe closed: that must not cut the stop short.
    try:
        print(text, flush=True)
    except OSError:
        # Nobody reads it any more: what is still buffered would fail again at exit (and
        # Python would then exit 120).
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def exit_status(returncode: int) -> int:
    """Non-zero for a child that exited by itself: its own code, or 128 + the signal."""
    if returncode < 0:
        return 128 - returncode
    return returncode or 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--site-port",
        type=int,
        default=8001,
        help="the local test Jira Cloud site's port (the demo's connected product uses 8001)",
    )
    parser.add_argument(
        "--confluence-port",
        type=int,
        default=8002,
        help="the local test Confluence Cloud site's port (the demo's uses 8002)",
    )
    args = parser.parse_args()

    received: list[int] = []

    def on_signal(signum, frame):
        # Only recorded: a handler that raised could interrupt start() or stop() halfway, and
        # a second signal (a supervisor's, after make's) arrives while stopping.
        received.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)

    children: list[Child] = []
    try:
        if not received:
            children.append(start("runserver", f"{args.host}:{args.port}", term_whole_group=True))
        if not received:
            children.append(start("qcluster", term_whole_group=False))
        if not received:
            # A3: the verification cluster, on its own queue (settings.Q_CLUSTER ALT_CLUSTERS),
            # so that a verification never waits in front of a backup or restore. Started as
            # `python -m django qcluster`: tests/test_devserver.py takes the one `manage.py
            # qcluster` child for "the worker" (until it knows of two clusters).
            children.append(
                start(
                    "qcluster",
                    module="django",
                    term_whole_group=False,
                    env={
                        "Q_CLUSTER_NAME": "verification",
                        "DJANGO_SETTINGS_MODULE": "backupsite.settings",
                    },
                )
            )
        if not received:
            # One process (threads): SIGTERM to it, and it stops its server and exits.
            children.append(
                start(
                    "--port",
                    str(args.site_port),
                    "--confluence-port",
                    str(args.confluence_port),
                    module="backups.devsite",
                    term_whole_group=False,
                )
            )
        announced = False
        while not received:
            gone = next((c for c in children if c.proc.poll() is not None), None)
            if gone is not None:
                say(f"\n{gone.name} exited ({gone.proc.returncode}); stopping.")
                return exit_status(gone.proc.returncode)
            if (
                not announced
                and answers(args.host, args.port)
                and answers("127.0.0.1", args.site_port)
                and answers("127.0.0.1", args.confluence_port)
            ):
                host = f"[{args.host}]" if ":" in args.host else args.host
                say(
                    f"\nbackupsite is running at http://{host}:{args.port}/ with its worker "
                    "(log in with a demo login above), and local test Jira Cloud and "
                    f"Confluence Cloud sites at http://127.0.0.1:{args.site_port} and "
                    f"http://127.0.0.1:{args.confluence_port}/wiki (their accounts are above). "
                    "Ctrl-C stops all three.\n"
                )
                announced = True
            time.sleep(POLL_SECONDS)
        say(
            f"\n{signal.Signals(received[0]).name}: stopping the web server, the worker and "
            "the local test site…"
        )
        return 0
    finally:
        stop(children)
        # Python puts the default handlers back as it exits: a signal then would kill the
        # launcher with nothing left to stop, and turn its exit status into "killed".
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


if __name__ == "__main__":
    sys.exit(main())
