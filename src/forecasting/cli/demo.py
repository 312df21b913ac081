"""``forecasting demo``: the main job end to end on the embedded demo data."""

from __future__ import annotations

import argparse
import time

from ._common import say


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="make demo data and run every part on it (the README's `make demo`)",
        description="Make the demo CRM under data/demo/ (DuckDB), then run every part on it: "
        "sales KPIs, lead-scorer comparison, pipeline and revenue forecasts and their blend, then every report "
        "notebook. Outputs go to reports/demo/<part>/ and the reports' HTML to reports/demo/reports/.",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the demo data and models (default 0)")
    p.add_argument("--out", default=None, help="output folder (default: <project>/reports/demo)")
    p.set_defaults(func=_demo)


# The demo CRM's "today": its last day of data.
_AS_OF = "2026-06-30"


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
                           "--period", "2026Q3", "--backtest-periods", "2025Q1:2026Q2", "--seed", str(seed),
                           "--out", f"{out}/revenue_blend"]),
    ]


def _demo(args: argparse.Namespace) -> int:
    from ..data.demo import write_demo
    from ..paths import demo_dir, reports_dir
    from . import build_parser
    from ._common import run

    t0 = time.perf_counter()
    db = write_demo(demo_dir(), seed=args.seed)
    say(f"[demo] data: {db} ({time.perf_counter() - t0:.1f}s)")
    out = args.out or str(reports_dir() / "demo")
    parser = build_parser()
    known = set(parser.get_default("commands"))
    failed = []
    for name, argv in _steps(str(db), out, args.seed):
        if argv[0] not in known:
            continue
        t = time.perf_counter()
        code = run(parser.parse_args(argv))
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        say(f"[demo] {name}: {status} ({time.perf_counter() - t:.1f}s)")
        if code:
            failed.append(name)
    failed += _reports(out, str(db))
    say(f"[demo] outputs in {out} ({time.perf_counter() - t0:.1f}s in all)")
    return 1 if failed else 0


def _reports(out: str, db: str) -> list[str]:
    """Run every report notebook with its defaults on the demo data into ``out/reports``."""
    from pathlib import Path

    from ..reports import available_reports, report_parameters, run_report

    failed = []
    for name in available_reports():
        t = time.perf_counter()
        params = {"source": db} if "source" in report_parameters(name) else {}
        result = run_report(name, params, Path(out) / "reports" / name, force=True)
        where = result.html if result.ok else f"FAILED: {result.error} (see {result.notebook})"
        say(f"[demo] report {name}: {where} ({time.perf_counter() - t:.1f}s)")
        if not result.ok:
            failed.append(name)
    return failed
