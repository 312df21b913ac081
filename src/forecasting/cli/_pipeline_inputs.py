"""The opportunities, stage history and stages every ``forecasting pipeline`` command reads."""

from __future__ import annotations

import argparse

from ._common import add_map_option, add_read_options, mapping_from, read_options_from

__all__ = ["add_inputs", "load_inputs"]


def add_inputs(p: argparse.ArgumentParser) -> None:
    """The options naming the opportunities, stage history and stages a pipeline command reads."""
    p.add_argument("--opportunities", required=True, metavar="SRC",
                   help="opportunities SOURCE (file.duckdb reads table 'opportunities')")
    p.add_argument("--stage-history", metavar="SRC",
                   help="stage_history SOURCE for exact as-of snapshots (file.duckdb reads 'stage_history')")
    p.add_argument("--stages", metavar="YAML", help="stages YAML (open: [...] with probabilities, won, lost)")
    add_map_option(p)
    add_read_options(p)


def load_inputs(args):
    """Validated opportunities, stage history (or None) and stages."""
    from ..data import Stages, load_table

    mapping = mapping_from(args)
    stages = Stages.from_config(args.stages) if args.stages else Stages()
    opportunities = load_table("opportunities", args.opportunities, mapping, stages=stages, **read_options_from(args))
    history = None
    if args.stage_history:
        history = load_table("stage_history", args.stage_history, mapping, stages=stages, **read_options_from(args),
                             opportunities=opportunities)
    return opportunities, history, stages
