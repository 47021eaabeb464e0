"""The instructor CLI: ``python -m autograder COMMAND``.

\b
release    generate the student notebooks (book/exercises/) from solutions/
autograde  grade a folder of submissions into a course directory's gradebook
feedback   write each student's HTML feedback (hidden tests removed)
grades     export a CSV: one row per student, scores and maxima per assignment
report     an HTML page of what the class got wrong in an assignment (scores, cells, mistakes)
selfcheck  solutions score full marks, stubs zero, visible tests pass
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click
import nbformat

from . import batch as batch_mod
from . import bundle, gradebook, pool, recording, results, submissions
from . import course as course_dir
from . import feedback as feedback_mod
from . import grades as grades_mod
from . import report as report_mod
from . import selfcheck as selfcheck_mod
from .executor import Executor
from .notebooks import read_notebook

COURSE_OPTION = click.option(
    "--course", "course", type=click.Path(file_okay=False, path_type=Path), default=course_dir.DEFAULT_COURSE,
    show_default=True, help="Course directory: gradebook, submitted/, autograded/, feedback/.")


def _assignment_names(names: tuple[str, ...]) -> list[str]:
    known = course_dir.assignments()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.UsageError(f"unknown assignment {', '.join(unknown)}; known: {', '.join(known)}")
    return list(names) or known


@click.group(help=__doc__)
def main() -> None:
    """Entry point."""


@main.command()
@click.argument("assignments", nargs=-1)
def release(assignments: tuple[str, ...]) -> None:
    """Generate the student version of ASSIGNMENTS (default: all) into book/exercises/."""
    api = course_dir.Course(course_dir.DEFAULT_COURSE).api
    for name in _assignment_names(assignments):
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise click.ClickException(f"release of {name} failed: {course_dir.last_line(result.get('error', ''))}")
        url = bundle.repository_url()
        if url:  # the real install line, in the notebook a student downloads
            path = course_dir.EXERCISES / name / course_dir.source_notebook(name).name
            nbformat.write(bundle.with_install_line(read_notebook(path), url), path)
        click.echo(f"released {name} -> {course_dir.EXERCISES / name}")
        click.echo(f"recorded its visible tests' reference values -> {recording.record_release(name)}")


@main.command()
@click.argument("assignment")
@click.argument("submitted", required=False, type=click.Path(path_type=Path))
@COURSE_OPTION
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=pool.default_jobs(), show_default=True,
              help="Submissions graded at once, each in its own worker process.")
@click.option("--force", is_flag=True, help="Regrade submissions already graded from the same notebook.")
@click.option("--cluster", "cluster", metavar="ADDRESS", default=None,
              help="Grade on a Dask cluster: a scheduler address (tcp://host:8786), or local[:N] for N worker "
                   "processes started here. Replaces --jobs.")
@click.option("--db", "db", metavar="URL", default=None,
              help="The course's gradebook database from now on (postgresql://user:password@host/dbname); "
                   "default: the SQLite file <course>/gradebook.db.")
def autograde(assignment: str, submitted: Path | None, course: Path, jobs: int, force: bool, cluster: str | None,
              db: str | None) -> None:
    """Grade ASSIGNMENT for every submission in SUBMITTED.

    SUBMITTED is nbgrader's layout (<student>/<assignment>/*.ipynb) or a flat folder of
    <student>.ipynb files; by default, the course directory's own submitted/ folder.
    Submitted code runs sandboxed (see autograder/sandbox/). An interrupted batch resumes:
    run the same command again.
    """
    _assignment_names((assignment,))
    root = course_dir.prepare(course)
    try:
        if db is not None:
            gradebook.use(root, db)
        executor = _executor(jobs, cluster)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    resolved = course_dir.Course(root)
    folder = submitted or resolved.submitted
    try:
        batch = submissions.find(folder, assignment)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from None
    if not batch:
        raise click.ClickException(f"no submissions for {assignment} in {folder}")
    try:
        outcomes = batch_mod.autograde(resolved, resolved.assignment(assignment), batch, executor)
    except KeyboardInterrupt:
        done = results.load(resolved).get(assignment, {})
        graded = sum(done.get(s.student) is not None for s in batch)
        raise click.ClickException(f"interrupted: {graded} of {len(batch)} submissions recorded; "
                                   "run the same command again to grade the rest") from None
    for student, outcome in sorted(outcomes.items()):
        if outcome.message:
            click.echo(f"{student}: {outcome.message}", err=True)
    graded = sum(o.status == "graded" for o in outcomes.values())
    click.echo(f"graded {graded} of {len(outcomes)} submissions of {assignment} "
               f"into {gradebook.redacted(resolved.db_url)}")


def _executor(jobs: int, cluster: str | None) -> Executor:
    """The executor the options ask for: a Dask cluster (``--cluster``), else a local pool of ``jobs``."""
    if cluster is None:
        return pool.Pool(jobs)
    from .cluster import Cluster  # imports Dask: only when asked for

    return Cluster(cluster)


@main.command()
@click.argument("assignment")
@COURSE_OPTION
def feedback(assignment: str, course: Path) -> None:
    """Write HTML feedback for every autograded submission of ASSIGNMENT."""
    _assignment_names((assignment,))
    resolved = course_dir.Course(course)
    for student, status in feedback_mod.generate(resolved, resolved.assignment(assignment)).items():
        click.echo(f"{student}: {status}")
    click.echo(f"feedback in {resolved.feedback}")


@main.command()
@COURSE_OPTION
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file to write (default: <course>/grades.csv).")
def grades(course: Path, output: Path | None) -> None:
    """Export the grades: one row per student, per-assignment score and maximum."""
    resolved = course_dir.Course(course)
    output = output or resolved.root / "grades.csv"
    count = grades_mod.write_csv(resolved, output)
    click.echo(f"wrote {count} students to {output}")


@main.command()
@click.argument("assignment")
@COURSE_OPTION
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write (default: <course>/report-<assignment>.html).")
@click.option("--anonymise", is_flag=True, help="Stable pseudonyms instead of student ids; no feedback links.")
def report(assignment: str, course: Path, output: Path | None, anonymise: bool) -> None:
    """Write the class report of ASSIGNMENT: one self-contained HTML page (reads the gradebook, never writes it)."""
    _assignment_names((assignment,))
    resolved = course_dir.Course(course)
    output = output or resolved.root / f"report-{assignment}.html"
    try:
        result = report_mod.write(resolved, assignment, output, anonymise=anonymise)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote the report of {len(result.students)} submissions of {assignment} to {output}")


def _selfcheck(name: str, db: str | None) -> selfcheck_mod.Report:
    if db is None:
        return selfcheck_mod.check(name)
    with gradebook.scratch(db) as url, tempfile.TemporaryDirectory(prefix=f"selfcheck-{name}-") as tmp:
        gradebook.use(course_dir.prepare(Path(tmp)), url)
        return selfcheck_mod.check(name, workdir=Path(tmp))


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--db", "db", metavar="URL", default=None,
              help="Grade in a scratch database on this PostgreSQL server (created, then dropped).")
def selfcheck(assignments: tuple[str, ...], db: str | None) -> None:
    """Check ASSIGNMENTS (default: all): solutions full marks, stubs 0, visible tests pass."""
    try:
        db = db and gradebook.normalise(db)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    failed = False
    for name in _assignment_names(assignments):
        report = _selfcheck(name, db)
        click.echo(f"{name}: solutions {report.solved.total:g}/{report.solved.max_total:g}, "
                   f"stubs {report.stub.total:g}/{report.stub.max_total:g}, {len(report.solved.cells)} graded cells")
        for problem in report.problems:
            click.echo(f"  FAIL {problem}", err=True)
        failed |= bool(report.problems)
    sys.exit(1 if failed else 0)
