"""``make bench``: where each grading setting pays, measured on this machine (a benchmark, not a test).

Prints one table per question, each row as soon as it is measured:

1. autograde time per submission vs one ``jupyter nbconvert --execute`` of the same solved notebook;
2. 40 submissions with ``--jobs 1``, ``--jobs 2`` and ``--cluster local:2`` (and the cluster's ratio to
   ``--jobs 2``);
3. the same 40 on a SQLite and on a PostgreSQL gradebook (``--jobs 2``), and the rate at which the
   cluster's coordinator records results into each;
4. the book: clean build vs cached rebuild;
5. the instructor solutions (numpy) vs torch on CPU at 10^6 elements, forward + backward;
6. a projection to 10,000 submissions on 1, 8 and 64 workers, with its assumptions.

``python -m autograder.bench --skip book`` leaves out sections (names: grading, batch, db, book, solutions).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from . import course as course_dir
from . import gradebook, pg_server, results
from .batch import autograde
from .cluster import Cluster, Graded, Job, grade_job, record
from .course import Course
from .executor import Executor
from .grading import ensure_assignment, grade_one
from .notebooks import fill_solutions, read_notebook
from .pool import Pool
from .submissions import Submission

BATCH = 40
RECORDED = 200  # results recorded per database and group size to measure the coordinator's rate
GROUPS = (1, 16)  # results recorded per transaction
BATCH_ASSIGNMENT = "gradient_flow"  # the batch section's assignment (issue 23 measured the cluster on it)
SECTIONS = ("grading", "batch", "db", "book", "solutions")
BIN = Path(sys.executable).parent


def _row(cells: list[str]) -> None:
    print("| " + " | ".join(cells) + " |", flush=True)


def _header(title: str, header: list[str]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|", flush=True)


def _timed(action: Callable[..., object], *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    action(*args, **kwargs)
    return time.perf_counter() - start


def _inbox(folder: Path, name: str, count: int) -> list[Submission]:
    """``count`` submissions of assignment ``name``: solved, half solved and stubs in turn."""
    course = Course(folder / "release-course")
    assignment = course.assignment(name)
    ensure_assignment(course, assignment)
    release = read_notebook(course.released / name / assignment.notebook_name)
    source = read_notebook(assignment.source)
    graded = sorted({c.metadata["nbgrader"]["grade_id"] for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("solution")})
    kinds = [fill_solutions(release, source), fill_solutions(release, source, only=set(graded[::2])), release]
    inbox = folder / "inbox"
    inbox.mkdir(exist_ok=True)
    batch = []
    for i in range(count):
        path = inbox / f"student{i:03d}.ipynb"
        nbformat.write(kinds[i % len(kinds)], path)
        batch.append(Submission(path.stem, path))
    return batch


def _grade(folder: Path, name: str, batch: list[Submission], executor: Executor, db: str | None = None) -> float:
    root = course_dir.prepare(folder)
    if db is not None:
        gradebook.use(root, db)
    course = Course(root)
    assignment = course.assignment(name)
    ensure_assignment(course, assignment)  # generating the assignment is not timed
    return _timed(autograde, course, assignment, batch, executor, progress=False)


def per_submission(tmp: Path) -> dict[str, float]:
    """Section 1; returns seconds per submission (``--jobs 1``) by assignment."""
    _header("autograde vs nbconvert --execute, per submission (solved notebook, --jobs 1, mean of 2)",
            ["assignment", "autograde s", "nbconvert --execute s", "ratio"])
    found = {}
    for assignment in course_dir.assignments():
        work = tmp / f"one-{assignment}"
        work.mkdir()
        batch = _inbox(work, assignment, 1)
        solved = [Submission("a", batch[0].notebook), Submission("b", batch[0].notebook)]
        graded = _grade(work / "course", assignment, solved, Pool(1)) / 2
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        command = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(batch[0].notebook),
                   "--output-dir", str(work / "executed")]
        executed = _timed(subprocess.run, command, check=True, capture_output=True, env=env, cwd=work)
        found[assignment] = graded
        _row([assignment, f"{graded:.1f}", f"{executed:.1f}", f"{graded / executed:.2f}"])
    return found


def batches(tmp: Path, pg_url: str | None) -> dict[str, float]:
    """Sections 2 and 3; returns seconds for the batch by setting."""
    assignment = BATCH_ASSIGNMENT
    work = tmp / "batch"
    work.mkdir()
    batch = _inbox(work, assignment, BATCH)
    found = {}
    _header(f"{BATCH} submissions of {assignment} (solved, half, stub in turn), SQLite gradebook",
            ["setting", "wall s", "s per submission", "speed-up vs --jobs 1", "vs --jobs 2"])
    settings = (("--jobs 1", Pool(1)), ("--jobs 2", Pool(2)), ("--cluster local:2", Cluster("local:2")))
    for label, executor in settings:
        found[label] = _grade(work / label.strip("-").replace(" ", "-").replace(":", "-"), assignment, batch, executor)
        versus = f"{found[label] / found['--jobs 2']:.2f}" if "--jobs 2" in found else ""
        _row([label, f"{found[label]:.1f}", f"{found[label] / BATCH:.2f}", f"{found['--jobs 1'] / found[label]:.2f}",
              versus])
    if pg_url is not None:
        _header(f"the same {BATCH} submissions, --jobs 2: SQLite file (with its lock) vs PostgreSQL (no lock)",
                ["gradebook", "wall s", "s per submission"])
        _row(["SQLite", f"{found['--jobs 2']:.1f}", f"{found['--jobs 2'] / BATCH:.2f}"])
        with gradebook.scratch(pg_url) as url:
            found["postgresql"] = _grade(work / "postgresql", assignment, batch, Pool(2), db=url)
        _row(["PostgreSQL", f"{found['postgresql']:.1f}", f"{found['postgresql'] / BATCH:.2f}"])
    found |= {f"records per s, {db}": rate for db, rate in recording_rates(tmp, pg_url).items()}
    return found


def recording_rates(tmp: Path, pg_url: str | None) -> dict[str, float]:
    """Section 3, second table: results per second the cluster's coordinator records (what it does for
    each result: the notebooks, the gradebook rows, the status file), one real graded result recorded
    :data:`RECORDED` times under new student names, in groups of each size of :data:`GROUPS` (the
    coordinator records every result that has arrived in one transaction: one at a time when they come
    slowly, more at once when they come faster than it records); returns the rate by database, results
    arriving in the largest groups."""
    name = BATCH_ASSIGNMENT
    work = tmp / "record"
    work.mkdir()
    sub = _inbox(work, name, 1)[0]
    course = Course(work / "probe")
    assignment = course.assignment(name)
    graded = grade_job(Job(grade_one, name, sub.student, sub.notebook.read_bytes(), sub.notebook.name,
                           assignment.notebook_name, assignment.source.read_bytes(), course.settings()))
    _header(f"the cluster's coordinator: {RECORDED} graded results of {name} recorded, results arriving "
            "in groups of k (one gradebook transaction per group, the status file at most once a second)",
            ["gradebook", *(f"results per second, k = {k}" for k in GROUPS)])
    found = {}
    databases = [("SQLite", None)] + ([("PostgreSQL", pg_url)] if pg_url is not None else [])
    for label, server in databases:
        rates = []
        for k in GROUPS:
            if server is None:
                rates.append(_recording_rate(work / f"sqlite-{k}", name, sub, graded, None, k))
                continue
            with gradebook.scratch(server) as url:
                rates.append(_recording_rate(work / f"postgresql-{k}", name, sub, graded, url, k))
        _row([label, *(f"{rate:.0f}" for rate in rates)])
        found[label] = rates[-1]
    return found


def _recording_rate(folder: Path, name: str, sub: Submission, graded: Graded, db: str | None, group: int) -> float:
    root = course_dir.prepare(folder)
    if db is not None:
        gradebook.use(root, db)
    course = Course(root)
    assignment = course.assignment(name)
    ensure_assignment(course, assignment)
    arrived = [(Submission(f"s{i:04d}", sub.notebook), graded) for i in range(RECORDED)]

    start = time.perf_counter()
    # as the coordinator does (cluster.graded_on, batch.autograde): one connection, one status recorder
    with gradebook.kept_open(course), results.Recorder(course) as recorder:
        for first in range(0, RECORDED, group):
            chunk = arrived[first:first + group]
            for (student, _), outcome in zip(chunk, record(course, assignment, chunk), strict=True):
                recorder.add(name, student.student, outcome)
    return RECORDED / (time.perf_counter() - start)


def book(tmp: Path) -> None:
    """Section 4."""
    _header("the book (jupyter-book build, strict): clean vs cached", ["build", "wall s"])
    command = [str(BIN / "jupyter-book"), "build", str(course_dir.REPO), "--path-output", str(tmp / "book"),
               "--warningiserror", "--nitpick", "--keep-going"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for label in ("clean (every page executed)", "cached rebuild (nothing changed)"):
        seconds = _timed(subprocess.run, command, check=True, capture_output=True, env=env, cwd=course_dir.REPO)
        _row([label, f"{seconds:.1f}"])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=SECTIONS, help="sections to leave out")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"# `{shlex.join(['python', '-m', 'autograder.bench', *sys.argv[1:]])}` on {os.cpu_count()} cores "
          f"({len(os.sched_getaffinity(0))} usable), load average {os.getloadavg()[0]:.1f} at start")
    from . import bench_solutions
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp_name:
        tmp = Path(tmp_name)
        per = per_submission(tmp) if "grading" not in args.skip else {}
        found: dict[str, float] = {}
        if "batch" not in args.skip:
            if "db" in args.skip:
                found = batches(tmp, None)
            else:
                with pg_server.running() as pg_url:
                    found = batches(tmp, pg_url)
        if "book" not in args.skip:
            book(tmp)
    if "solutions" not in args.skip:
        bench_solutions.table()
    projection(per, found)
    print(f"\n(benchmark wall time {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f} at end)")


def projection(per: dict[str, float], found: dict[str, float]) -> None:
    """Section 6: hours for 10,000 submissions from the measured per-submission cost."""
    if "--jobs 1" not in found:
        return
    cost = found["--jobs 1"] / BATCH  # seconds of one core per submission, gradebook writes included
    overhead = max(found.get("--cluster local:2", 0.0) - found.get("--jobs 2", 0.0), 0.0)  # cluster start-up
    _header(f"projection: 10,000 submissions of {BATCH_ASSIGNMENT}",
            ["workers", "hours (local pool)", "hours (Dask cluster)"])
    for workers in (1, 8, 64):
        local = 10_000 * cost / workers / 3600 if workers <= 8 else None
        clustered = (10_000 * cost / workers + overhead) / 3600
        _row([str(workers), f"{local:.2f}" if local is not None else "n/a (one machine)", f"{clustered:.2f}"])
    print(f"\nassumptions: {cost:.2f} s of one core per submission (measured, --jobs 1, {BATCH} submissions, "
          "gradebook writes included); workers scale linearly (each submission is independent, one core "
          f"each); the cluster adds a fixed {overhead:.0f} s (measured: --cluster local:2 minus --jobs 2); "
          f"at 64 workers the coordinator must record {64 / cost:.1f} submissions per second; measured, with "
          f"results arriving {GROUPS[-1]} at a time (they queue while it records), it records "
          + ", ".join(f"{rate:.0f} per second ({key.rpartition(', ')[2]})" for key, rate in found.items()
                      if key.startswith("records per s"))
          + "; a local pool is shown up to 8 workers (one machine of 8 cores).")


if __name__ == "__main__":
    main()
