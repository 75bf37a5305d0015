r"""``hourglass calibrate``: fit the assumption parameters to the report's numbers (ABC-SMC).

::

    hourglass calibrate                       # default: 50 particles, <= 8 generations, <= 30 min
    hourglass calibrate --quick               # tiny population, 8 particles, 2 generations
    hourglass calibrate --out results/cal     # resumes if results/cal holds a calibration
    hourglass calibrate --scheduler tcp://HOST:8786   # on a Dask cluster

Writes into ``--out`` (default ``results/calibration``): ``history.db`` (pyabc's SQLite
history, what a resume reads), ``posterior.parquet`` (equally weighted parameter sets),
``particles.parquet`` (the last generation with weights), ``predictive.parquet`` (each particle's
statistics, seed errors and distance), ``distances.log`` (every simulated particle's distance,
seed SD and runs), ``epsilons.jsonl`` (how each generation's epsilon was chosen),
``calibration.json`` (command, prior, targets, settings, library versions,
generations, seed noise, identification, what is not fitted) and the figures
``prior_posterior.png``, ``pairs.png`` and ``predictive.png`` (see :mod:`hourglass.calibration`
and docs/calibration.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from hourglass.commands._options import add_run_options, parse_assignments
from simulation.errors import HourglassError


def add_parser(subparsers: Any) -> None:
    """Register ``calibrate``."""
    from hourglass.calibration import QUICK, Settings

    default = Settings()
    parser = subparsers.add_parser(
        "calibrate", help="fit the assumption parameters to the report's numbers (ABC-SMC)",
        description="Approximate Bayesian computation (pyabc ABC-SMC) of the parameters whose "
        "source is 'assumption' against hourglass/targets.toml. Resumes from --out's history.",
    )
    parser.add_argument("scenario", nargs="?", default="baseline",
                        help="base scenario (default baseline)")
    parser.add_argument("--out", type=Path, default=Path("results/calibration"),
                        help="output directory; resumed if it holds a calibration")
    parser.add_argument("--population", type=int, default=None,
                        help=f"particles per generation (default {default.population}, "
                        f"--quick {QUICK.population})")
    parser.add_argument("--generations", type=int, default=None,
                        help=f"generations (default {default.generations}, --quick "
                        f"{QUICK.generations})")
    parser.add_argument("--replicates", type=int, default=None,
                        help="runs (initiatives) a particle's statistics are pooled over "
                        f"(default {default.replicates}, --quick {QUICK.replicates})")
    parser.add_argument("--max-replicates", type=int, default=None, metavar="RUNS",
                        help="more runs, --replicates at a time, up to this many while seed "
                        "noise could still decide a particle's acceptance (default "
                        f"{default.max_replicates}, --quick {QUICK.max_replicates})")
    parser.add_argument("--walltime", type=float, default=None, metavar="MINUTES",
                        help="start no generation predicted to end after this (default "
                        f"{default.walltime_minutes:g})")
    parser.add_argument("--min-acceptance-rate", type=float, default=None, metavar="RATE",
                        help="stop after a generation accepting fewer than this share of its "
                        "particles, and abandon one that would (default "
                        f"{default.min_acceptance_rate:g})")
    parser.add_argument("--max-undecided", type=float, default=None, metavar="SHARE",
                        help="stop after a generation with more than this share of its weight "
                        "on particles the seeds left undecided at --max-replicates runs: the "
                        "next would select on the seeds (default "
                        f"{default.max_undecided:g}, --quick {QUICK.max_undecided:g}: never)")
    parser.add_argument("--min-ess", type=float, default=None, metavar="SHARE",
                        help="stop after a generation whose importance weights leave fewer "
                        "effective particles than this share of --population; the posterior "
                        "is then the last generation with enough (default "
                        f"{default.min_ess:g}, --quick {QUICK.min_ess:g}: never)")
    parser.add_argument("--seeds-decide", type=float, default=None, metavar="SHARE",
                        help="each generation's epsilon is the smallest at which the seeds are "
                        "predicted to decide at most this share of the verdicts (not below the "
                        "median distance); the calibration stops when that epsilon can no "
                        "longer shrink by 1 %% (default "
                        f"{default.seeds_decide:g}; 1: the median, whatever the seeds decide; "
                        f"--quick {QUICK.seeds_decide:g})")
    parser.add_argument("--quick", action="store_true",
                        help="tiny population, few particles, 2 generations (< 1 min)")
    add_run_options(parser)


_OPTIONS = {"population": "population", "generations": "generations",
            "replicates": "replicates", "max_replicates": "max_replicates",
            "walltime_minutes": "walltime", "min_acceptance_rate": "min_acceptance_rate",
            "max_undecided": "max_undecided", "seeds_decide": "seeds_decide",
            "min_ess": "min_ess"}
"""Settings the command line sets: the setting's name and its option's (``args``) name."""


def _settings(args: argparse.Namespace) -> Any:
    from hourglass.calibration import QUICK, Settings

    preset = QUICK if args.quick else Settings()
    overrides = {**preset.overrides, **parse_assignments(args.overrides, "--set")}
    # Each option given on the command line, else the preset's value (its setting's name).
    given = {name: getattr(args, option) for name, option in _OPTIONS.items()
             if getattr(args, option) is not None}
    values = {**{name: getattr(preset, name) for name in _OPTIONS}, **given}
    if "max_replicates" not in given:  # never fewer than a particle's first batch
        values["max_replicates"] = max(preset.max_replicates, values["replicates"])
    settings = Settings(**values, scale=preset.scale, overrides=overrides)
    settings.check()
    return settings


def stop_phrase(stopped: str, settings: Any, floor: float) -> str:
    """Why a calibration stopped, said for a person, naming the option that stopped it.

    Args:
        stopped: The calibration's ``stopped_by`` (a name from
            :func:`hourglass.calibration._stopped_by`, its watcher or its epsilon rule, some with
            their detail in parentheses).
        settings: The calibration's settings (the options' values).
        floor: The floor on epsilon (target tolerances).
    """
    walltime = f"stopped by --walltime {settings.walltime_minutes:g} min"
    rate = f"--min-acceptance-rate {settings.min_acceptance_rate:g}"
    fixed = {
        "generations": f"stopped at --generations {settings.generations}",
        "minimum epsilon": f"stopped: epsilon reached its floor, {floor:.3g} target tolerances",
        "acceptance rate": f"stopped by {rate}: the last generation accepted fewer of its "
                           "particles",
        "acceptance rate (a generation abandoned)": f"stopped by {rate}: a generation was "
                                                    "abandoned",
        "walltime (a generation ended past it)": f"{walltime}: a generation ended past it",
        "walltime (the next generation was predicted to end past it)":
            f"{walltime}: the next generation was predicted to end past it",
        "walltime (the generation in progress passed it and was dropped)":
            f"{walltime}: the generation in progress passed it and was dropped",
    }
    if stopped in fixed:
        return fixed[stopped]
    name, _, detail = stopped.partition(" (")
    detail = detail.removesuffix(")")
    if name == "importance weights":
        return f"stopped by --min-ess {settings.min_ess:g}: {detail}"
    if name == "seed noise" and "undecided" in detail:
        return f"stopped by --max-undecided {settings.max_undecided:g}: {detail}"
    if name == "seed noise":
        return f"stopped by --seeds-decide {settings.seeds_decide:g}: {detail}"
    return f"stopped: {stopped}"


def main(args: argparse.Namespace) -> int:
    """Check the options, run or resume the calibration, write the figures."""
    from hourglass.calibration import calibrate
    from hourglass.calibration_figures import write_figures

    settings = _settings(args)
    if args.out.exists() and not args.out.is_dir():
        raise HourglassError(f"--out {args.out}: exists and is not a directory")
    # pyabc logs every generation at INFO, the progress bar says the same; its warnings (points
    # of near-zero weight in 53 dimensions) are recorded in the history, not news to a user.
    import pyabc  # noqa: F401 - its loggers exist once it is imported

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("ABC")] + ["ABC"]:
        logging.getLogger(name).setLevel(logging.ERROR)
    client = None
    if args.scheduler is not None:
        from analysis.executors import dask_client

        address = None if args.scheduler == "local" else args.scheduler
        client_cm = dask_client(address, n_workers=args.workers or 2)
        client = client_cm.__enter__()
    try:
        provenance = calibrate(
            args.out, base=args.scenario, settings=settings, seed=args.seed,
            workers=args.workers, scheduler=client, progress=not args.no_progress,
            command="hourglass calibrate " + " ".join(sys.argv[2:]),
        )
    finally:
        if client is not None:
            client_cm.__exit__(None, None, None)
    write_figures(args.out)
    from hourglass.calibration_figures import predictive_summary

    table = predictive_summary(args.out)
    print("posterior predictive against the report (median, 5-95 %, within tolerance):")
    for row in table.itertuples():
        print(f"  {row.target:17s} report {row.report:.3g} +- {row.tolerance:.2g}: "
              f"{row.median:.3g} ({row.low_5:.3g}-{row.high_95:.3g}), "
              f"{row.deviation_in_tolerances:+.1f} tolerances, "
              f"{'agrees' if row.agrees else 'DISAGREES'}")
    gens = provenance["generations"]
    noise = provenance["seed_noise"]
    stopped = stop_phrase(provenance["stopped_by"], settings, provenance["minimum_epsilon"])
    print(f"calibrate: {len(gens)} generations ({stopped}), "
          f"{provenance['simulations']} particles simulated, the posterior's epsilon "
          f"{gens[provenance['posterior_generation']]['epsilon']:.3g} target tolerances (floor "
          f"{provenance['minimum_epsilon']:.3g}); seed noise of a distance "
          f"{noise['distance_sd_median']:.2g} (median); posterior in "
          f"{args.out / 'posterior.parquet'}")
    posterior = provenance["posterior_generation"]
    if posterior != gens[-1]["t"]:
        print(f"posterior: generation {posterior} (the last with an effective sample size of at "
              f"least {settings.min_ess:g} of the population and the seeds not deciding most "
              "of its weight)")
    chosen = [c for c in provenance["epsilon_rule"]["chosen"] if c["t"] == posterior]
    if chosen:
        print(f"seeds: at generation {posterior}'s epsilon they were predicted to decide "
              f"{chosen[0]['predicted_seeds_decide']:.1%} of verdicts (--seeds-decide "
              f"{settings.seeds_decide:g}); fresh seeds would reject "
              f"{noise['rejected_on_new_seeds']:.1%} of the accepted by each one's own seed SD "
              "(benchmarks/calibrate.py --rejudge judges them again)")
    found = provenance["identification"]
    if found["signal_sd"] == found["signal_sd"]:  # not NaN: the prior sample was logged
        low, high = found["seeds_decide_at_max_replicates_95ci"]
        runs = found["replicates_for_5pc"]
        cost = (f"{runs:,} runs a particle would bring that to 5 %" if runs != float("inf")
                else "no number of runs would bring that to 5 %")
        print(f"identification: over the prior the targets set particles apart by SD "
              f"{found['signal_sd']:.2g} (95 % interval {found['signal_sd_95ci'][0]:.2g}-"
              f"{found['signal_sd_95ci'][1]:.2g}) against seed noise {found['seed_sd_rms']:.2g} "
              f"at {settings.replicates} runs; the seeds decide "
              f"{found['seeds_decide_at_max_replicates']:.0%} ({low:.0%}-{high:.0%}) of "
              f"acceptances at {settings.max_replicates} runs, and {cost} "
              "(docs/calibration.md)")
    return 0
