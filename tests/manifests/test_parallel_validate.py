"""`validate` shared among forked workers says what one process says, whatever a worker does.

Forking from the pytest process would be the very thing the workers refuse (other tests leave
threads behind), so each case runs in a fresh single-threaded Python, given as a script.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.cli import python_json

pytestmark = pytest.mark.e2e

INVALID = Path(__file__).parent / "invalid"

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {name}
spec:
  customer_id: {customer}
  name: "{title}"
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 5000}}
"""

CHARGE = """\
apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: {name}
spec:
  customer_id: {customer}
  type: NEXT_INVOICE
  onetime_items:
    - product_pricing_id: {pricing}
      aggregate: 1
"""


def company_tree(root: Path) -> None:
    """Two companies, each with 60 files, clashes split across files far apart (so across
    workers' shares), plus every file of the invalid corpus."""
    for company in ("eu", "us"):
        folder = root / company
        folder.mkdir()
        (folder / "maplectl.yaml").write_text(f"company_id: cmp_{company}\n", encoding="utf-8")
        for index in range(60):
            docs = [
                CREDIT.format(name=f"c{index}", customer=f"cus_{index % 7}", title=f"T {index}"),
                CHARGE.format(name=f"o{index}", customer=f"cus_{index}", pricing=f"pp_{index}"),
            ]
            (folder / f"f{index:02d}.yaml").write_text("---\n".join(docs), encoding="utf-8")
        # Clashes between the first file and the last: a name used twice, a look-alike
        # credit title and a charge sharing a product pricing.
        (folder / "f59.yaml").write_text(
            "---\n".join(
                [
                    CREDIT.format(name="c0", customer="cus_0", title="T 0 "),
                    CHARGE.format(name="late-charge", customer="cus_0", pricing="pp_0"),
                ]
            ),
            encoding="utf-8",
        )
        # ... and two entries in files far apart pinning one object.
        for index in (1, 58):
            pinned = CREDIT.format(name=f"pin{index}", customer="cus_9", title=f"P {index}")
            pinned = pinned.replace("metadata:\n", "metadata:\n  remote_id: crd_shared\n")
            with (folder / f"f{index:02d}.yaml").open("a", encoding="utf-8") as out:
                out.write("---\n" + pinned)
    shutil.copytree(
        INVALID, root / "eu" / "zz-invalid", ignore=shutil.ignore_patterns("*.expected")
    )


COMPARE = """
    import json, os
    from maplectl.manifests import loader, workers

    forks = []
    real_fork = os.fork
    def counting_fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid
    os.fork = counting_fork

    def shown(diagnostics):
        return [str(d) for d in diagnostics]

    resources, expected = loader.validate_paths(["."])
    results = {}
    for jobs in (1, 2, 3):
        valid, problems = loader.check_paths(["."], jobs=jobs)
        results[jobs] = [valid, shown(problems)]
    print(json.dumps({"serial": [len(resources), shown(expected)], "results": results,
                      "forks": len(forks)}))
"""


def test_shared_validation_reports_exactly_what_one_process_reports(tmp_path: Path) -> None:
    """With 1, 2 or 3 processes, check_paths counts the same valid documents and lists the
    same problems, in the same order, as validate_paths: clashes across shares and companies
    included; and 2 and 3 processes really fork (1 + 2 workers)."""
    company_tree(tmp_path)
    out = python_json(COMPARE, tmp_path)
    serial = out["serial"]
    assert isinstance(serial, list)
    assert serial[0] > 200 and len(serial[1]) > 150  # many valid, many problems
    for jobs, result in out["results"].items():  # type: ignore[attr-defined]
        assert result == serial, f"jobs={jobs}"
    messages = "\n".join(serial[1])
    assert 'f59.yaml:4:9: Credit/c0: metadata.name: "c0" is already the name' in messages
    assert "looks like" in messages and "shares product pricing pp_0" in messages
    assert "f58.yaml:25:14: Credit/pin58: metadata.remote_id: pins crd_shared" in messages
    assert out["forks"] == 3


FAULTS = """
    import json, os, signal, time
    from maplectl.manifests import workers

    def work(share, in_child):
        if in_child and share[0] == {fault_share}:
            {fault}
        return [value * 10 for value in share]

    # The clock reads 0 while the main process does its own share, then a day later.
    readings = [0.0, 0.0, 0.0]
    clock = (lambda: readings.pop() if readings else 86400.0) if {jump} else time.monotonic
    shares = workers.split(list(range(12)), 3)
    started = time.monotonic()
    result = workers.map_shares(work, shares, clock=clock)
    # Every child has been waited for: none is left running or as a zombie.
    try:
        os.waitpid(-1, os.WNOHANG)
        children_left = True
    except ChildProcessError:
        children_left = False
    print(json.dumps({{"result": result, "children_left": children_left,
                      "seconds": time.monotonic() - started}}))
"""

FAULT_CASES = {
    "killed by a signal": ("os.kill(os.getpid(), signal.SIGKILL)", False),
    "raises": ("raise RuntimeError('boom')", False),
    "exits at once": ("os._exit(0)", False),
    "answers something unpicklable": ("return [lambda: None]", False),
    "hangs past the deadline": ("time.sleep(3600)", True),
}


@pytest.mark.parametrize("case", FAULT_CASES, ids=list(FAULT_CASES))
def test_a_failing_worker_is_redone_and_the_answer_is_unchanged(tmp_path: Path, case: str) -> None:
    """Whatever a worker does (dies, raises, answers nothing or garbage, hangs past its
    deadline, which a fake clock makes pass at once), its share is done again in the main
    process: the result is the serial one, in order, and no child is left behind."""
    fault, jump = FAULT_CASES[case]
    for fault_share in (4, 8):  # the second share, then the third
        out = python_json(FAULTS.format(fault=fault, fault_share=fault_share, jump=jump), tmp_path)
        assert out["result"] == [[0, 10, 20, 30], [40, 50, 60, 70], [80, 90, 100, 110]]
        assert out["children_left"] is False
        assert out["seconds"] < 30  # the hanging child was killed, not waited for an hour


def test_workers_are_not_forked_beside_other_threads(tmp_path: Path) -> None:
    """A process running another thread (the embedded sandbox, say) never forks: a child
    forked while another thread holds a lock could hang. It checks serially instead."""
    out = python_json(
        """
        import json, os, threading
        from maplectl.manifests import workers

        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        forks = []
        os.fork = lambda: forks.append(1) or 0
        result = workers.map_shares(lambda share, _: sum(share), [[1, 2], [3], [4]])
        jobs = workers.available_jobs()
        stop.set()
        print(json.dumps({"result": result, "forks": len(forks), "jobs": jobs}))
        """,
        tmp_path,
    )
    assert out == {"result": [3, 3, 4], "forks": 0, "jobs": 1}


def test_split_keeps_order_and_balance() -> None:
    """Shares are contiguous, in order, cover every item once and differ in size by at most one."""
    from maplectl.manifests.workers import split

    for count in (0, 1, 5, 64, 1001):
        for parts in (1, 2, 3, 8):
            shares = split(list(range(count)), parts)
            assert [item for share in shares for item in share] == list(range(count))
            assert len(shares) == max(1, min(parts, count))
            sizes = [len(share) for share in shares]
            assert max(sizes) - min(sizes) <= 1


def test_an_answer_already_sent_is_taken_even_past_the_deadline(tmp_path: Path) -> None:
    """A worker that answered while the main process was busy (say, redoing another worker's
    share) is not killed and redone for the deadline having passed meanwhile: its answer is
    already there."""
    out = python_json(
        """
        import json, os, select, time
        from maplectl.manifests import workers

        def answered_and_ended(pid):  # a zombie has written its whole answer
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] == "Z"

        here = []
        def work(share, in_child):
            if not in_child:
                here.append(share)
                me = os.getpid()
                with open(f"/proc/{me}/task/{me}/children") as found:
                    children = [int(pid) for pid in found.read().split()]
                give_up = time.monotonic() + 30
                while not all(map(answered_and_ended, children)) and time.monotonic() < give_up:
                    select.select([], [], [], 0.01)  # waits for the workers, not for time
            return [value * 10 for value in share]

        readings = [0.0, 0.0, 0.0]  # then the deadline has long passed
        clock = lambda: readings.pop() if readings else 86400.0
        result = workers.map_shares(work, [[1], [2], [3]], clock=clock)
        print(json.dumps({"result": result, "done_here": here}))
        """,
        tmp_path,
    )
    assert out == {"result": [[10], [20], [30]], "done_here": [[1]]}
