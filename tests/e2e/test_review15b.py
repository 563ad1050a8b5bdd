"""Review 15b (validate shared among forked workers): holes found by an adversarial read, each a
failing test.

Forking code runs in a fresh single-threaded Python (as tests/manifests/test_parallel_validate.py
does), never in the pytest process. Faults a machine cannot be made to produce on demand (the
kernel refusing a fork, the OOM killer taking a worker) are injected into that fresh Python.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.cli import python_json

pytestmark = pytest.mark.e2e

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: c{index}
spec:
  customer_id: cus_{index}
  name: "T {index}"
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 5000}}
"""

# Half a dollar cent: invalid wherever it is read.
BAD = CREDIT.format(index="bad").replace("5000", "12.5")


def tree(root: Path, files: int = 70) -> Path:
    """One company with ``files`` valid manifests (enough for two workers of FILES_PER_WORKER)."""
    folder = root / "manifests"
    folder.mkdir()
    (folder / "maplectl.yaml").write_text("company_id: cmp_x\n", encoding="utf-8")
    for index in range(files):
        (folder / f"f{index:03d}.yaml").write_text(CREDIT.format(index=index), encoding="utf-8")
    return folder


def test_a_worker_dying_after_reading_stdin_does_not_hide_the_stdin_document(
    tmp_path: Path,
) -> None:
    """`generate | maplectl validate manifests/ /dev/stdin` reports the invalid document read
    from stdin even when the worker that read it is killed (the OOM killer, say) before it
    answers: one process would report it, and the output must not depend on the workers."""
    tree(tmp_path)
    out = python_json(
        """
        import json, os, signal
        from maplectl.manifests import loader, workers

        # The worker is killed (as by the OOM killer) once it has read and checked its share.
        workers.pickle.dumps = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        valid, problems = loader.check_paths(["manifests", "/dev/stdin"], jobs=2)
        print(json.dumps({"valid": valid, "problems": [str(p) for p in problems]}))
        """,
        tmp_path,
        stdin=BAD,
    )
    # One process: 70 valid, and the half cent read from stdin.
    assert out["valid"] == 70
    assert any(p.startswith("/dev/stdin:9:") for p in out["problems"]), out  # type: ignore[attr-defined]


def test_sigterm_to_validate_leaves_no_worker_holding_its_output(tmp_path: Path) -> None:
    """When the process running the workers is terminated (SIGTERM to it alone, as
    subprocess.run's timeout or a CI cancel does), its workers go with it: none is left
    running, and its stdout reaches end-of-file at once."""
    script = textwrap.dedent(
        """
        import time
        from maplectl.manifests import workers

        def work(share, in_child):
            time.sleep(3600)  # in the main process and the worker alike: killed, not waited for

        workers.map_shares(work, [[1], [2]])
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    worker = 0
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        give_up = time.monotonic() + 20
        while not worker and time.monotonic() < give_up:  # waits for a fork, not for time
            with contextlib.suppress(FileNotFoundError, ValueError):
                worker = int((children.read_text().split() or ["0"])[0])
            select.select([], [], [], 0.01)
        assert worker, "no worker was forked"
        # The worker has set itself to die with its parent once its stdout is /dev/null.
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{worker}/fd/1") == os.devnull:
                    break
            select.select([], [], [], 0.01)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        ended = select.select([proc.stdout], [], [], 5.0)[0]
        assert ended and proc.stdout.read() == b"", "a worker still holds the stdout"
        give_up = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and time.monotonic() < give_up:
            select.select([], [], [], 0.01)  # the kernel's SIGKILL is being delivered
        assert not Path(f"/proc/{worker}").exists(), "the worker outlived its parent"
    finally:
        if worker:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def test_a_pipe_in_a_manifest_folder_is_refused_not_read(tmp_path: Path) -> None:
    """A FIFO named *.yaml inside a manifests folder is a problem at its path, never read (no
    one writes to it, so reading it would wait forever), in one process or shared."""
    folder = tree(tmp_path)
    os.mkfifo(folder / "pipe.yaml")
    for jobs in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "maplectl", "validate", "-j", jobs, "manifests"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert "manifests/pipe.yaml:1:1: is not a regular file" in done.stderr


CANNOT_START = {
    # The kernel refuses the fork: a container's pids limit (docker --pids-limit, k8s, systemd
    # TasksMax) makes fork() fail with EAGAIN. Root ignores RLIMIT_NPROC, so it is injected.
    "fork fails with EAGAIN": """
        def refused():
            raise BlockingIOError(11, "Resource temporarily unavailable")
        os.fork = refused
    """,
    # Too many open files, for real: room for one pipe, not for three (-j 4).
    "pipe fails with EMFILE": """
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        for fd in held[-3:]:
            os.close(fd)
    """,
}


@pytest.mark.parametrize("case", CANNOT_START, ids=list(CANNOT_START))
def test_a_worker_that_cannot_be_started_is_checked_in_the_main_process(
    tmp_path: Path, case: str
) -> None:
    """If the system refuses a worker (no fork, no pipe), check_paths answers as one process
    would, and leaves no descriptor open behind it."""
    tree(tmp_path)
    fault = textwrap.dedent(CANNOT_START[case])
    body = f"""
import json, os
from maplectl.manifests import loader

serial = loader.check_paths(["manifests"], jobs=1)
{fault}
before = sorted(os.listdir("/proc/self/fd"))
try:
    result = loader.check_paths(["manifests"], jobs=4)
    error = None
except Exception as exc:
    result, error = None, repr(exc)
after = sorted(os.listdir("/proc/self/fd"))
print(json.dumps({{"same": result == serial, "error": error, "leaked": len(after) - len(before)}}))
"""
    out = python_json(body, tmp_path)
    assert out == {"same": True, "error": None, "leaked": 0}


def test_workers_answer_in_a_process_with_many_open_descriptors(tmp_path: Path) -> None:
    """check_paths works in a process already holding over a thousand descriptors (a server, a
    test harness; or -j 1100), whose worker pipes get numbers above select()'s 1024."""
    tree(tmp_path)
    out = python_json(
        """
        import json, os, resource
        from maplectl.manifests import loader

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200 and (hard == resource.RLIM_INFINITY or hard >= 1200):
            resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
        serial = loader.check_paths(["manifests"], jobs=1)
        held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
        try:
            same, error = loader.check_paths(["manifests"], jobs=2) == serial, None
        except Exception as exc:
            same, error = False, repr(exc)
        print(json.dumps({"same": same, "error": error}))
        """,
        tmp_path,
    )
    assert out == {"same": True, "error": None}


def test_an_error_in_the_main_process_closes_every_pipe_and_kills_only_live_workers(
    tmp_path: Path,
) -> None:
    """If ``work`` raises in the main process while it redoes a failed worker's share, the error
    propagates, no pipe descriptor is left open, and no signal goes to a pid already reaped."""
    out = python_json(
        """
        import json, os
        from maplectl.manifests import workers

        reaped, late_kills = set(), []
        real_waitpid, real_kill = os.waitpid, os.kill
        def waitpid(pid, options):
            done = real_waitpid(pid, options)
            if done[0]:
                reaped.add(done[0])
            return done
        def kill(pid, sig):
            if pid in reaped:  # its pid is free: the kernel may have given it to another
                late_kills.append(pid)
            return real_kill(pid, sig)
        os.waitpid, os.kill = waitpid, kill

        def work(share, in_child):
            if share == [2]:  # fails wherever it runs, as a too-deep document does
                raise RecursionError("maximum recursion depth exceeded")
            return share

        before = sorted(os.listdir("/proc/self/fd"))
        try:
            workers.map_shares(work, [[1], [2], [3], [4]])
            error = None
        except RecursionError as exc:
            error = repr(exc)
        after = sorted(os.listdir("/proc/self/fd"))
        print(json.dumps({"error": error, "leaked": len(after) - len(before),
                          "killed_after_reaped": late_kills}))
        """,
        tmp_path,
    )
    assert out["error"] is not None
    assert out["leaked"] == 0
    assert out["killed_after_reaped"] == []
