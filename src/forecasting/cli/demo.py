"""``forecasting demo``: the main job end to end on the embedded demo data.

Every step is an ordinary CLI call or report run with its own seed, so the steps
can run side by side (``--jobs``) and still write the numbers one at a time would.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field

from ._common import say


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="make demo data and run every part on it (the README's `make demo`)",
        description="Make the demo CRM (DuckDB) under the project's data/demo/ (in a checkout) or the per-user "
        "data folder (an installed package), then run every part on it: sales KPIs, lead-scorer comparison, "
        "pipeline and revenue forecasts and their blend, then every report notebook. Outputs go to "
        "--out/<part>/ and the reports' HTML to --out/reports/. Independent steps run side by side "
        "(--jobs); each step has its own seed, so the outputs do not depend on --jobs.",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the demo data and models (default 0)")
    p.add_argument("--out", default=None, help="output folder (default: reports/demo under the project root)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="steps run at once, each with its share of the CPUs (default: the CPUs available, "
                   "at most 4); 1 runs them one after the other")
    p.set_defaults(func=_demo)


# The demo CRM's "today": its last day of data.
_AS_OF = "2026-06-30"
# The blend's past periods: the revenue report is passed them too, to read the blend saved with them.
_BLEND_PERIODS = "2025Q1:2026Q2"


@dataclass(frozen=True)
class Step:
    """One step of the demo: a CLI call (``argv``) or a report run (``report``), after ``after``."""

    name: str
    argv: tuple[str, ...] = ()
    report: str = ""
    params: dict = field(default_factory=dict)
    out: str = ""
    after: tuple[str, ...] = ()


def _steps(db: str, out: str, seed: int) -> list[tuple[str, list[str]]]:
    """The demo's commands, in order; each is an ordinary CLI call."""
    from ..paths import models_dir

    model = str(models_dir() / "demo")
    # Leads younger than 45 days may still convert: their label is not final yet.
    leads = ["--min-age-days", "45", "--seed", str(seed)]
    return [
        ("leads compare", ["leads", "compare", db, "--out", f"{out}/leads", *leads]),
        ("leads train", ["leads", "train", db, "--model", "best", "--leaderboard", f"{out}/leads",
                         "--out", model, *leads]),
        ("leads score", ["leads", "score", db, "--model", model, "--out", f"{out}/leads_scores/scores.csv"]),
        ("kpis", ["kpis", "--opportunities", db, "--leads", db, "--activities", db,
                  "--spend", f"{db}:spend", "--quotas", f"{db}:quotas", "--accounts", f"{db}:accounts",
                  "--by", "segment", "--out", f"{out}/kpis"]),
        ("pipeline forecast", ["pipeline", "forecast", "--opportunities", db, "--stage-history", db,
                               "--as-of", _AS_OF, "--period", "2026Q3", "--by", "segment",
                               "--quotas", f"{db}:quotas", "--seed", str(seed),
                               "--out", f"{out}/pipeline_forecast"]),
        ("pipeline waterfall", ["pipeline", "waterfall", "--opportunities", db, "--stage-history", db,
                                "--from", "2026-06-01", "--to", _AS_OF, "--period", "2026Q3", "--by", "owner",
                                "--out", f"{out}/pipeline_waterfall"]),
        ("pipeline risk", ["pipeline", "risk", "--opportunities", db, "--stage-history", db, "--activities", db,
                           "--as-of", _AS_OF, "--period", "2026Q3", "--out", f"{out}/pipeline_risk"]),
        ("calls rollup", ["calls", "rollup", "--source", db, "--as-of", _AS_OF, "--period", "2026Q2",
                          "--out", f"{out}/calls_rollup"]),
        ("calls accuracy", ["calls", "accuracy", "--source", db, "--periods", "2025Q1:2026Q2", "--model-method",
                            "none", "--out", f"{out}/calls_accuracy"]),
        ("revenue backtest", ["revenue", "backtest", db, "--horizon", "6", "--folds", "4",
                              "--seed", str(seed), "--out", f"{out}/revenue_backtest"]),
        ("revenue forecast", ["revenue", "forecast", db, "--horizon", "12", "--seed", str(seed),
                              "--out", f"{out}/revenue_forecast"]),
        ("pipeline backtest", ["pipeline", "backtest", "--opportunities", db, "--stage-history", db,
                               "--periods", "2024Q1:2026Q2", "--seed", str(seed),
                               "--out", f"{out}/pipeline_backtest"]),
        ("revenue blend", ["revenue", "blend", db, "--stage-history", db, "--as-of", _AS_OF,
                           "--period", "2026Q3", "--backtest-periods", _BLEND_PERIODS, "--seed", str(seed),
                           "--pipeline-backtest", f"{out}/pipeline_backtest", "--out", f"{out}/revenue_blend"]),
    ]


# Steps that need another step's output first (the others only need the demo data).
# The blend reads its pipeline rows from the backtest (its periods hold the blend's).
_AFTER = {"leads train": ("leads compare",), "leads score": ("leads train",), "revenue blend": ("pipeline backtest",)}
# Which step a free worker takes first: the longest chains and steps (measured), so that the workers
# finish together; the others follow in the order above. Only the wall time depends on it.
_FIRST = ("pipeline backtest", "leads compare", "revenue blend", "leads train", "report lead_scoring_comparison",
          "report revenue_forecast", "report pipeline_forecast", "report forecast_call", "pipeline forecast")


def _report_inputs(out: str, seed: int) -> dict[str, tuple[tuple[str, ...], dict]]:
    """Reports that reuse what a CLI step saved: report -> (steps it waits for, parameters).

    The lead report reads the comparison and the model `leads compare` / `leads train` made
    with the same settings (its defaults are the CLI's), the pipeline report the rows of its
    periods in the `pipeline backtest` (a longer backtest holds the very same rows) and the
    revenue report the `revenue blend`, instead of running them again. Each report checks
    that the saved settings are its own and refuses them otherwise.
    """
    from ..paths import models_dir

    lead_report = {"saved_comparison": f"{out}/leads", "model": str(models_dir() / "demo"), "seed": seed}
    pipeline_report = {"saved_backtest": f"{out}/pipeline_backtest", "seed": seed}
    revenue_report = {"saved_blend": f"{out}/revenue_blend", "blend_backtest_periods": _BLEND_PERIODS,
                      "seed": seed}
    return {"lead_scoring_comparison": (("leads train",), lead_report),
            "pipeline_forecast": (("pipeline backtest",), pipeline_report),
            "revenue_forecast": (("revenue blend",), revenue_report)}


def plan(db: str, out: str, seed: int, reports: list[str]) -> list[Step]:
    """Every step of the demo: the CLI calls and one report run per notebook, longest first.

    Parameters
    ----------
    db : str
        The demo database every step reads.
    out : str
        Output folder: one sub-folder per step, the reports under ``out/reports``.
    seed : int
        Seed of every step that takes one.
    reports : list of str
        Report notebooks to run (:func:`forecasting.reports.available_reports`).

    Returns
    -------
    list of Step
        In the order a free worker takes them; a step's ``after`` steps come before it.

    Examples
    --------
    >>> [step.name for step in plan("crm.duckdb", "out", 0, [])][:4]
    ['pipeline backtest', 'leads compare', 'revenue blend', 'leads train']
    """
    from pathlib import Path

    from ..reports import report_parameters

    steps = [Step(name, tuple(argv), after=_AFTER.get(name, ())) for name, argv in _steps(db, out, seed)]
    inputs = _report_inputs(out, seed)
    for name in reports:
        declared = report_parameters(name)
        after, extra = inputs.get(name, ((), {}))
        params = {"source": db} if "source" in declared else {}
        params.update({k: v for k, v in extra.items() if k in declared})
        steps.append(Step(f"report {name}", report=name, params=params,
                          out=str(Path(out) / "reports" / name), after=after))
    return sorted(steps, key=lambda s: _FIRST.index(s.name) if s.name in _FIRST else len(_FIRST))


def _run_step(step: Step) -> tuple[int, str]:
    """Run one step in this process: its exit code and, for a report, where it went."""
    if step.report:
        from ..reports import ReportError, run_report

        try:
            result = run_report(step.report, step.params, step.out, force=True)
        except ReportError as err:  # a parameter the notebook refuses: that report fails, the others run
            return 2, "; ".join(str(p) for p in err.problems)
        return (0, str(result.html)) if result.ok else (1, f"{result.error} (see {result.notebook})")
    from . import build_parser
    from ._common import run

    return run(build_parser().parse_args(list(step.argv))), ""


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a report's kernel) so far."""
    try:
        import resource
    except ImportError:  # Windows: this process only
        return time.process_time()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(step: Step) -> tuple[int, str, float, float]:
    """Run ``step``: exit code, note, wall seconds and CPU seconds (what it costs on a busy machine)."""
    t, cpu = time.perf_counter(), _cpu_seconds()
    code, note = _run_step(step)
    _stop_joblib_workers()
    return code, note, time.perf_counter() - t, _cpu_seconds() - cpu


def _stop_joblib_workers() -> None:
    """Stop the joblib (loky) workers a step started: idle ones linger for 300 s and keep a demo worker alive."""
    import sys

    if "joblib.externals.loky" in sys.modules:  # only a step that used joblib has any
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


def _worker_setup(threads: int) -> None:
    """A worker's share of the CPUs: side-by-side steps must not each start a thread per core."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # also seen by the report kernels
    os.environ.setdefault("FORECASTING_PROGRESS", "0")  # bars of parallel steps would overwrite each other
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def run_steps(steps: list[Step], jobs: int = 1) -> dict[str, tuple[str, float, float]]:
    """Run ``steps``, ``jobs`` at a time, each as soon as its ``after`` steps are done.

    Parameters
    ----------
    steps : list of Step
        In the order free workers take them (:func:`plan`).
    jobs : int
        Steps run at once: 1 runs them in this process one after the other; more runs them
        in as many fresh worker processes, each limited to its share of the CPUs.

    Returns
    -------
    dict
        Step name -> (status, wall seconds, CPU seconds), in the order they finished.
        A step whose prerequisite failed (or was skipped) is skipped.
    """
    results: dict[str, tuple[str, float, float]] = {}
    pending = list(steps)

    def ready(step: Step) -> bool | None:
        """True when it can start, None when a prerequisite failed, False while one runs."""
        states = [results.get(name, ("",))[0] for name in step.after]
        return None if any(s and s != "ok" for s in states) else all(s == "ok" for s in states)

    def record(step: Step, code: int, note: str, seconds: float, cpu: float) -> None:
        results[step.name] = ("ok" if code == 0 else f"FAILED (exit {code})", seconds, cpu)
        say(f"[demo] {step.name}: {results[step.name][0]}{': ' + note if note else ''} ({seconds:.1f}s)")

    def skip_blocked() -> None:
        """Skip every step whose prerequisite failed or was skipped, down the chain."""
        while step := next((s for s in pending if ready(s) is None), None):
            pending.remove(step)
            results[step.name] = (f"skipped ({', '.join(step.after)} failed)", 0.0, 0.0)
            say(f"[demo] {step.name}: {results[step.name][0]}")

    if jobs <= 1:
        while pending:
            skip_blocked()
            step = next((s for s in pending if ready(s)), None)
            if step is None:
                break
            pending.remove(step)
            record(step, *_timed(step))
        return results
    return _run_parallel(pending, jobs, ready, record, skip_blocked, results)


def _run_parallel(pending, jobs, ready, record, skip_blocked, results):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    threads = max(1, _available_cpus() // jobs)
    # spawn: a fresh interpreter per worker, never a fork of a process with running thread pools.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_setup, initargs=(threads,)) as pool:
        running = {}
        while pending or running:
            skip_blocked()
            for step in [s for s in pending if ready(s)][: jobs - len(running)]:
                pending.remove(step)
                running[pool.submit(_timed, step)] = step
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                record(running.pop(future), *future.result())
    return results


def _demo(args: argparse.Namespace) -> int:
    from ..data.demo import write_demo
    from ..data.errors import DataError, Problem
    from ..paths import demo_dir, reports_dir
    from ..reports import available_reports

    jobs = args.jobs if args.jobs is not None else min(4, _available_cpus())
    if jobs < 1:
        raise DataError(Problem("demo", "jobs", f"--jobs must be 1 or more, got {jobs}"))
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    db = write_demo(demo_dir(), seed=args.seed)
    data = ("ok", time.perf_counter() - t0, _cpu_seconds() - cpu0)
    say(f"[demo] data: {db} ({data[1]:.1f}s)")
    out = os.path.abspath(args.out or str(reports_dir() / "demo"))
    results = run_steps(plan(str(db), out, args.seed, available_reports()), jobs)
    wall = time.perf_counter() - t0
    _timing_table({"data": data, **results}, wall, jobs)
    say(f"[demo] outputs in {out} ({wall:.1f}s in all)")
    return 0 if all(status == "ok" for status, *_ in results.values()) else 1


def _timing_table(results: dict[str, tuple[str, float, float]], wall: float, jobs: int) -> None:
    """Where the demo's time goes: wall and CPU seconds per step, their sums, the wall clock."""
    rows = [(name, status, f"{seconds:.1f}", f"{cpu:.1f}") for name, (status, seconds, cpu) in results.items()]
    rows.append(("sum of steps", "", f"{sum(r[1] for r in results.values()):.1f}",
                 f"{sum(r[2] for r in results.values()):.1f}"))
    rows.append((f"wall clock ({jobs} at a time)", "", f"{wall:.1f}", ""))
    name_w, status_w = (max(len(r[i]) for r in [*rows, ("step", "status")]) for i in (0, 1))
    say(f"\n{'step':<{name_w}}  {'status':<{status_w}}  {'seconds':>8}  {'cpu s':>8}")
    for name, status, seconds, cpu in rows:
        say(f"{name:<{name_w}}  {status:<{status_w}}  {seconds:>8}  {cpu:>8}")
