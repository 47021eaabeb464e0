"""Grading on a real Dask ``LocalCluster`` (2 worker processes): the same scores as the local
pool, cell for cell (red-team submissions included), and a worker killed mid-batch loses nothing."""

from __future__ import annotations

import os
import signal

import nbformat
import pytest
from distributed import default_client
from grading_helpers import configure, grade, points, points_of, regrade, released, source
from nbgrader.api import Gradebook
from redteam.attacks import attacks

from autograder import cluster, results
from autograder.course import Course
from autograder.feedback import generate
from autograder.gradebook import cell_scores
from autograder.notebooks import fill_solutions
from autograder.submissions import Submission

ASSIGNMENT = "regression_losses"
SETTINGS = "c.SandboxedExecute.memory_mb = 1024\n"  # the default per-cell timeout: no attack here needs it
POINTS = points(ASSIGNMENT)
FULL, MSE_ONLY = sum(POINTS.values()), points_of(ASSIGNMENT, {"mse"})
ATTACKS = ("edit_test_cell", "always_equal_object", "kernel_exit", "memory_bomb")


def test_cluster_addresses():
    assert cluster.parse_local("local:3") == 3 and cluster.parse_local("tcp://10.0.0.1:8786") is None
    assert cluster.parse_local("local") >= 1
    with pytest.raises(ValueError, match="positive number"):
        cluster.parse_local("local:0")


@pytest.fixture(scope="module")
def scheduler() -> str:
    """The address of a LocalCluster of 2 worker processes shared by this module's tests, which
    reach it as a remote cluster (``--cluster tcp://…``); ``local:N`` is the same code path."""
    with cluster.connect("local:2") as client:
        yield client.scheduler.address


@pytest.mark.slow
@pytest.mark.xdist_group("grading_cluster")
def test_cluster_grades_exactly_as_the_local_pool(tmp_path, scheduler):
    pool_course = configure(tmp_path / "pool", SETTINGS)
    dask_course = configure(tmp_path / "dask", SETTINGS)
    release, src = released(pool_course, ASSIGNMENT), source(ASSIGNMENT)
    notebooks = {"solved": fill_solutions(release, src), "stub": release,
                 "partial": fill_solutions(release, src, only={"mse"}), "absent": None, "broken": tmp_path / "x.ipynb"}
    notebooks["broken"].write_text("{ not json")
    chosen = [a for a in attacks(str(dask_course)) if a.name in ATTACKS]
    for attack in chosen:
        notebooks[attack.name] = fill_solutions(release, src)
        attack.build(notebooks[attack.name])

    local_scores, local_outcomes = grade(pool_course, ASSIGNMENT, notebooks, jobs=2)
    inbox = pool_course / "inbox"
    batch = [Submission(s, nb if not isinstance(nb, nbformat.NotebookNode) else inbox / f"{s}.ipynb")
             for s, nb in notebooks.items()]
    outcomes = regrade(dask_course, ASSIGNMENT, batch, cluster.Cluster(scheduler))

    url = Course(dask_course).db_url
    dask_scores = {s: cell_scores(url, ASSIGNMENT, s) for s, o in outcomes.items() if o.status == "graded"}
    assert {s: sc.cells for s, sc in dask_scores.items()} == {s: sc.cells for s, sc in local_scores.items()}
    assert {s: (o.status, o.message) for s, o in outcomes.items()} == \
           {s: (o.status, o.message) for s, o in local_outcomes.items()}
    expected = {"solved": FULL, "stub": 0, "partial": MSE_ONLY} | {a.name: FULL - sum(POINTS[g] for g in a.zero)
                                                                  for a in chosen}
    assert {s: sc.total for s, sc in dask_scores.items()} == expected
    assert outcomes["absent"].status == "error" and "kernel died" in outcomes["kernel_exit"].message
    assert outcomes["broken"].message.startswith("x.ipynb is not a valid notebook")
    assert results.load(Course(dask_course))[ASSIGNMENT] == outcomes
    course = Course(dask_course)
    assert set(generate(course, course.assignment(ASSIGNMENT)).values()) == {"ok"}  # the autograded notebooks came back

    again = regrade(dask_course, ASSIGNMENT, batch, cluster.Cluster("local:1"))
    assert again == outcomes  # a rerun grades nothing: every submission is recorded once


@pytest.mark.slow
@pytest.mark.xdist_group("grading_cluster")
def test_a_worker_killed_mid_batch_loses_nothing_and_ctrl_c_resumes(tmp_path, monkeypatch, scheduler):
    course = configure(tmp_path / "course", SETTINGS)
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    inbox = course / "inbox"
    inbox.mkdir()
    students = [f"s{i}" for i in range(5)]
    for i, student in enumerate(students):
        nbformat.write(fill_solutions(release, src, only={"mse"} if i % 2 else None), inbox / f"{student}.ipynb")
    batch = [Submission(s, inbox / f"{s}.ipynb") for s in students]
    killed: list[int] = []
    recorded: list[str] = []
    interrupted: list[str] = []
    real_record = cluster.record

    def kill_then_interrupt(course_, assignment, arrived):
        if not killed:  # at the first results: kill a worker that is grading a submission now
            client = default_client()
            busy = [w for w, keys in client.processing().items() if keys]
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        elif len(recorded) >= 2 and not interrupted:  # the killed worker's submission is still to come
            interrupted.extend(sub.student for sub, _ in arrived)
            raise KeyboardInterrupt  # Ctrl-C as these results come in, before they are recorded
        recorded.extend(sub.student for sub, _ in arrived)
        return real_record(course_, assignment, arrived)

    monkeypatch.setattr(cluster, "record", kill_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        regrade(course, ASSIGNMENT, batch, cluster.Cluster(scheduler))
    assert killed and sorted(results.load(Course(course))[ASSIGNMENT]) == sorted(recorded)

    first = list(recorded)
    assert interrupted and len(first) < len(students)
    outcomes = regrade(course, ASSIGNMENT, batch, cluster.Cluster(scheduler))
    assert sorted(recorded[len(first):]) == sorted(set(students) - set(first))  # the rerun grades only the rest
    assert {s: o.status for s, o in outcomes.items()} == dict.fromkeys(students, "graded")
    url = Course(course).db_url
    with Gradebook(url) as gb:
        rows = sorted(s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions)
    assert rows == students  # one row each: none lost to the dead worker, none counted twice
    assert {s: cell_scores(url, ASSIGNMENT, s).total for s in students} == \
           {s: MSE_ONLY if i % 2 else FULL for i, s in enumerate(students)}
