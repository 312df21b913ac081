"""``forecasting leads compare | train | score``: compare scorers, save one, score leads in batch."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (add_engine_option, add_map_option, add_read_options, engine_from, mapping_from, output_dir,
                      parameters_of, read_options_from, say)

_MODELS = "rule_scorecard, learned_scorecard, logistic, hist_gb, blend, random_forest"


def register(sub) -> None:
    p = sub.add_parser("leads", help="lead scoring: compare models, train one, score leads",
                       description="Compare lead-scoring models, save the chosen one to models/, "
                       "and score leads in batch.")
    leads = p.add_subparsers(dest="leads_command", metavar="COMMAND")
    _compare_parser(leads)
    _train_parser(leads)
    _score_parser(leads)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _feature_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="converted", help="label column (default converted)")
    p.add_argument("--exclude", action="extend", type=_names, default=[], metavar="COL[,COL...]",
                   help="leave columns out of the features (comma-separated or repeated)")
    p.add_argument("--include", action="extend", type=_names, default=[], metavar="COL[,COL...]",
                   help="keep columns the leakage guard would exclude (comma-separated or repeated)")
    p.add_argument("--min-age-days", type=float, default=0, metavar="DAYS",
                   help="leave out leads younger than this (label not final yet), default 0")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default 0)")
    add_map_option(p)
    add_read_options(p)


def _compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare", help="cross-validate lead scorers and write leaderboard.csv",
        description="Cross-validate lead-scoring models (time-aware by default) and write "
        "leaderboard.csv (model, roc_auc, roc_auc_lo, roc_auc_hi, pr_auc, log_loss, brier, ece, ks, "
        "lift_top10, fit_seconds, ...; best first), features.csv (used and excluded columns, with "
        "reasons), folds.csv, oof.csv, ROC / precision-recall / reliability / gain figures (PNG) "
        "and run.json to --out.")
    p.add_argument("source", metavar="SOURCE", help="leads SOURCE (CSV, Parquet, file.duckdb[:table], URL)")
    p.add_argument("--out", required=True, help="output folder")
    _feature_options(p)
    p.add_argument("--folds", type=int, default=5, help="number of test folds (default 5)")
    p.add_argument("--cv", choices=("time", "stratified"), default="time",
                   help="forward chaining on created_at (default) or stratified k-fold")
    p.add_argument("--models", help=f"comma-separated candidates (default: all of {_MODELS})")
    p.add_argument("--calibration", choices=("auto", "none", "sigmoid", "isotonic"), default="auto",
                   help="calibration of the scores (default auto: chosen by CV)")
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap replicates (default 500)")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="worker processes fitting folds in parallel (-1: every core; 1: none; default: "
                   "every core from 5,000 leads on)")
    p.add_argument("--time-budget", type=_seconds, metavar="SECONDS",
                   help="seconds for fitting: candidates whose folds have not all started by then are "
                   "skipped, and the output says which (default: no budget)")
    p.set_defaults(func=_compare)


def _jobs(text: str) -> int:
    """A number of worker processes: positive, or negative counting back from every core (-1: all)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a non-zero whole number (-1: every core), got {text!r}")
    return value


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse exits 2 naming the flag otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="fit a lead scorer on all data and save it to models/NAME",
        description="Fit a candidate on every labelled lead, calibrated, and save model.skops + "
        "card.json (features, excluded columns, data fingerprint, CV metrics, threshold, grade cut "
        "points, versions) to --out. NAME 'best' takes the winner of a leaderboard.")
    p.add_argument("source", metavar="SOURCE", help="leads SOURCE")
    p.add_argument("--model", required=True, metavar="NAME", help=f"candidate ({_MODELS}) or 'best'")
    p.add_argument("--out", required=True, help="model folder, e.g. models/NAME")
    p.add_argument("--leaderboard", metavar="PATH",
                   help="leaderboard.csv (or its folder) from `leads compare`: needed for --model best; "
                   "its metrics and calibration go into the card")
    _feature_options(p)
    p.add_argument("--calibration", choices=("auto", "none", "sigmoid", "isotonic"), default=None,
                   help="calibration (default: the leaderboard's choice, else auto)")
    p.add_argument("--capacity", type=float, metavar="LEADS_PER_WEEK",
                   help="leads the team can work per week: sets the call threshold")
    p.add_argument("--leads-per-week", type=float, metavar="N",
                   help="leads arriving per week, for --capacity (default: the last 13 weeks of SOURCE)")
    p.add_argument("--deal-value", type=float, help="value of a won deal (expected-value threshold)")
    p.add_argument("--call-cost", type=float, help="cost of working a lead (expected-value threshold)")
    p.set_defaults(func=_train)


def _score_parser(sub) -> None:
    p = sub.add_parser(
        "score", help="score leads in batch: lead_id, score, grade, reasons",
        description="Score leads chunk by chunk with a saved model and write lead_id, score (calibrated "
        "probability), grade (A-D), reasons (top features, ';'-separated) to --out (.csv or .parquet), "
        "with two files beside it named after it: --out out/scores.csv writes out/scores.drift.csv "
        "(PSI per feature and for the score) and out/scores.run.json (written last: the run is complete). "
        "Other files in the folder are left alone; an interrupted run leaves the previous outputs.")
    p.add_argument("source", metavar="SOURCE", help="leads SOURCE")
    p.add_argument("--model", required=True, metavar="DIR", help="model folder, e.g. models/NAME")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output: a .csv or .parquet file, or a path without a suffix for a folder of Parquet parts")
    p.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk (default 50000)")
    p.add_argument("--no-reasons", action="store_true", help="skip reason codes (faster)")
    add_map_option(p)
    add_read_options(p)
    add_engine_option(p)
    p.set_defaults(func=_score)


def _load(args):
    from ..data import load_table

    # created_at is optional here: only forward-chaining CV, --min-age-days and --capacity need it,
    # and compare_models / train_model refuse then, naming the flag that does without it.
    return load_table("leads", args.source, mapping_from(args), optional=("created_at",), **read_options_from(args))


def _compare(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..leads import compare_models

    with output_dir(args.out, "leads compare", parameters_of(args)) as (out, log):
        leads = _load(args)
        log.step("load")
        result = compare_models(leads, args.target, models=args.models, cv=args.cv, folds=args.folds,
                                seed=args.seed, exclude=args.exclude, include=args.include,
                                calibration=args.calibration, n_boot=args.n_boot,
                                min_age_days=args.min_age_days, n_jobs=args.jobs, time_budget=args.time_budget)
        log.step("compare")
        for name, path in result.save(out).items():
            log.outputs[name] = str(path)
        log.outputs["oof"] = str(write_csv(result.oof, out / "oof.csv"))
        log.step("write")
        log.extra["best"] = result.best
        log.extra["excluded"] = result.features.excluded
        log.extra["skipped"] = result.skipped
    say(f"leads compare: best {result.best} (ROC AUC {result.leaderboard['roc_auc'].iloc[0]:.3f}) "
        f"-> {out / 'leaderboard.csv'}")
    for sentence in result.skipped.values():
        say(f"  {sentence}")
    _say_excluded(result.features.excluded)
    return 0


def _say_excluded(excluded: dict) -> None:
    """Name the columns a user may have expected as features: leaky ones and free text
    (ids, dates of record and constants go without saying; all are in features.csv / the card)."""
    for column, reason in excluded.items():
        if "leak" in reason or "free text" in reason:
            say(f"  not used: {column}: {reason}")


def _leaderboard_row(path: str, name: str):
    import pandas as pd

    from ..data import DataError

    file = Path(path)
    file = file / "leaderboard.csv" if file.is_dir() else file
    if not file.is_file():
        raise DataError(f"leaderboard not found: {file}", table="leaderboard")
    board = pd.read_csv(file)
    if "model" not in board.columns or board.empty:
        raise DataError(f"{file} is not a leaderboard (needs a model column and rows)", table="leaderboard")
    name = str(board["model"].iloc[0]) if name == "best" else name
    row = board[board["model"] == name]
    if row.empty:
        raise DataError(f"model {name!r} is not in {file}", table="leaderboard")
    return name, row.iloc[0].to_dict()


def _train(args: argparse.Namespace) -> int:
    from ..data import DataError
    from ..leads import CANDIDATES, train_model

    name, row = args.model, None
    if args.leaderboard:
        name, row = _leaderboard_row(args.leaderboard, args.model)
    elif name == "best":
        raise DataError("--model best needs --leaderboard (leaderboard.csv from `leads compare`)",
                        table="leaderboard")
    if name not in CANDIDATES:
        raise DataError(f"unknown model {name!r}; choose from {', '.join(CANDIDATES)} or best", table="model")
    calibration = args.calibration or (row or {}).get("calibration") or "auto"
    from ..provenance import RunLog

    out = Path(args.out)
    log = RunLog("leads train", parameters_of(args))
    leads = _load(args)
    log.step("load")
    model = train_model(leads, name, args.target, exclude=args.exclude, include=args.include,
                        calibration=calibration, seed=args.seed, min_age_days=args.min_age_days,
                        cv_metrics=row, capacity_per_week=args.capacity, leads_per_week=args.leads_per_week,
                        deal_value=args.deal_value, call_cost=args.call_cost)
    log.step("train")
    model.save(out)
    log.step("save")
    log.outputs["model"] = str(out)
    log.extra["model"] = name
    log.write(out)  # run.json beside the model card, written last
    cv = model.card["cv_metrics"]
    threshold = model.card["threshold"]
    found = f", {threshold['captured']:.0%} of conversions" if threshold.get("captured") is not None else ""
    say(f"leads train: {name} (calibration {model.card['calibration']}, CV ROC AUC "
        f"{float(cv.get('roc_auc', float('nan'))):.3f}) -> {out}")
    say(f"  call leads scoring >= {threshold['threshold']:.3f} ({threshold['detail']}): "
        f"{threshold['share_called']:.0%} of leads{found}")
    _say_excluded(model.card["excluded"])
    return 0


def _score(args: argparse.Namespace) -> int:
    from ..leads import load_model, score_source
    from ..leads.scoring import companion_path

    out = Path(args.out)
    # run.json is named after the scores (scores.run.json), as the drift table is: the folder
    # may hold other runs' outputs, and no --out can make one file replace another.
    with output_dir(out.parent, "leads score", parameters_of(args),
                    run_json=companion_path(out, "run.json").name) as (folder, log):
        model = load_model(args.model)
        log.step("load model")
        result = score_source(model, args.source, out, chunksize=args.chunksize,
                              mapping=mapping_from(args), reasons=not args.no_reasons, **engine_from(args),
                              **read_options_from(args))
        log.step("score")
        log.outputs.update(scores=str(result.out), drift=str(result.drift_path))
        log.extra["rows"] = result.rows
        shifted = result.drift[result.drift["band"] == "shifted"]["feature"].tolist()
        log.extra["shifted"] = shifted
    say(f"leads score: {result.rows} leads -> {out}" + (f" (drift: {', '.join(shifted)} shifted)" if shifted else ""))
    return 0
