"""Throughput of the hourglass baseline: against itself at e0fb30c, against Mesa, from cold.

Measured in one run, each figure a ratio or a time on this machine:

1. CPU seconds of one baseline run (model creation included, best of ``--repeats``, seeds 1, 2,
   ...) in a fresh single-threaded process, for this checkout and for commit e0fb30c (exported
   with ``git archive`` into a temporary folder), interleaved; their ratio (target >= 3). Then
   (``--paired``, default 400 seeds, in ``--groups`` of fresh processes, default 8) the two
   checkouts' runs paired seed by seed, taking turns of ``--block`` seeds (default 10): the
   median per-seed ratio and the ratio of the mean runs, each with a 95 % interval from a
   bootstrap over the groups. Then (``--series``, default 200 seeds) each
   checkout's runs back to back in a process of its own, as a sweep's worker runs them, in
   ``--rounds`` (default 8) of a fresh process each, alternating: the ratios of the median run
   and of the mean run, each with a 95 % interval from a bootstrap over the rounds.
2. Agent-steps per CPU second against Mesa's bundled BoltzmannWealth (100 agents, 100 steps),
   counted two ways: per Mesa agent (peers and home organisations: the model's Mesa agents;
   staff are array rows, not agents) and per element of work (peers, live ties and staff
   touched: adopters and the colleagues their ties reach, averaged over the months).
3. Wall and CPU seconds of ``hourglass run baseline`` in a fresh process, with Numba's compiled
   cache present (target <= 1.5 s on an idle core, where wall time is the CPU time; best of
   ``--repeats``) and with an empty cache (what a fresh worker pays).
4. CPU seconds of a run at rows of the shipped posterior (hourglass/posterior/posterior.parquet,
   each row the baseline's overrides, as the default Sobol' analysis runs them; thousands of
   staff adopt there, a few at the point defaults), for this checkout and for
   ``--posterior-reference`` (default e76bb0b: main before the adopters' walk was cut, issue
   13), interleaved: their ratio, and the cost against a baseline run.

Usage: ``python benchmarks/throughput.py [--repeats 5] [--reference e0fb30c] [--paired 200]
[--groups 8] [--block 10] [--series 200] [--rounds 8] [--parts baseline mesa cold posterior]
[--posterior-reference e76bb0b]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import ROOT, paired_runs, round_ratio, run_in_child, series_in_child

PARTS = ("baseline", "mesa", "cold", "posterior")
POSTERIOR_ROWS = (0, 10, 20, 30, 40)
"""Rows of the shipped posterior the posterior part times (spread over the file)."""


def export(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` written into ``folder`` (git archive), returned."""
    archive = folder / "tree.tar"
    subprocess.run(  # noqa: S603 - git on this repository
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), commit], check=True  # noqa: S607
    )
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def boltzmann_rate(repeats: int) -> float:
    """Agent-steps per CPU second of BoltzmannWealth, 100 agents, 100 steps, creation included."""
    from mesa.examples.basic.boltzmann_wealth_model.model import (  # noqa: PLC0415
        BoltzmannScenario,
        BoltzmannWealth,
    )

    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        model = BoltzmannWealth(BoltzmannScenario(n=100, width=10, height=10, rng=1))
        for _ in range(100):
            model.step()
        best = min(best, time.process_time() - start)
    return 100 * 100 / best


def work_per_month(seed: int = 1) -> dict[str, float]:
    """Mean per month of the baseline: Mesa agents and elements of work (an untimed run)."""
    from simulation import PeerLearningModel, Scenario  # noqa: PLC0415

    model = PeerLearningModel(Scenario.load("baseline"), rng=seed)
    agents = model.state.peers.n + len(model.organisations)
    elements = []
    while model.steps < model.months:
        model.step()
        staff = model.state.staff
        touched = int(staff.adopted_any().sum()) + len(staff.exposure()[0])
        elements.append(model.state.peers.n + model.state.ties.count + touched)
    return {"agents": agents, "elements": sum(elements) / len(elements), "months": model.months}


def cold_run(cache: str | None, *, bytecode: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds of ``hourglass run baseline`` in a fresh process.

    ``cache``: Numba's cache folder (default: its own, beside the sources). The CPU seconds (user
    and system, from the child's resource usage) are what the wall time would be on an idle
    core: on a shared machine the wall time also counts the waits for a core. ``bytecode``:
    whether Python keeps its own compiled cache (``__pycache__``), as it does unless told not
    to; this project's machines set ``PYTHONDONTWRITEBYTECODE=1``, under which every process
    compiles the project's own modules from source again (about 40 of them in a run).
    """
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(  # noqa: S603 - the hourglass command of this environment
            [str(Path(sys.executable).with_name("hourglass")), "run", "baseline", "--out",
             str(Path(out) / "run")],
            check=True, capture_output=True, env=env, cwd=out,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def baseline_and_mesa(args: argparse.Namespace) -> float:
    """Print the baseline against the reference commit and Mesa; return its CPU seconds now."""
    if "baseline" not in args.parts:
        now = min(run_in_child("baseline", repeats=args.repeats)["cpu"] for _ in range(2))
        return mesa_ratio(args, now)
    with tempfile.TemporaryDirectory() as folder:
        reference = export(args.reference, Path(folder))
        now, before = float("inf"), float("inf")
        for _ in range(2):  # interleaved, so load on the machine falls on both alike
            now = min(now, run_in_child("baseline", repeats=args.repeats)["cpu"])
            before = min(before, run_in_child("baseline", repeats=args.repeats,
                                              root=reference)["cpu"])
        print(f"baseline run, CPU: {now * 1000:.1f} ms now, {before * 1000:.1f} ms at "
              f"{args.reference}: {before / now:.2f}x fewer CPU-seconds (target >= 3)")
        if args.paired:
            paired(args, reference)
        if args.series:
            series(args, reference)
    return mesa_ratio(args, now) if "mesa" in args.parts else now


def paired(args: argparse.Namespace, reference: Path) -> None:
    """Print the per-seed ratio of baseline runs, the two checkouts taking turns of seeds.

    ``--paired`` seeds in ``--groups`` groups, each group with a fresh child per checkout (a
    child's own speed stays with all its runs: measured here, one pair of children gave 0.97x
    and the next 1.11x for the same two checkouts); in a group the children take turns of
    ``--block`` seeds (:func:`_timing.paired_runs`). Prints the median over all seeds of (CPU
    at the reference) / (CPU now) and the ratio of the mean runs, each with a 95 % interval
    from a bootstrap over the groups (2,000 resamples of whole groups, percentile): a
    best-of-few figure swings with the machine's speed between the runs it compares (1.3x to
    1.9x for one checkout within an hour).
    """
    import numpy as np  # noqa: PLC0415 - only this part summarises
    from tqdm import tqdm  # noqa: PLC0415

    size = -(-args.paired // args.groups)
    groups = [range(start, min(start + size, args.paired + 1))
              for start in range(1, args.paired + 1, size)]
    then_by_group, now_by_group = [], []
    with tqdm(total=args.paired, desc="paired baseline runs", unit="seed", leave=False) as bar:
        for seeds in groups:
            then, this = paired_runs("baseline", (reference, ROOT), seeds, bar, args.block)
            then_by_group.append(np.array(then))
            now_by_group.append(np.array(this))
    ratios = [a / b for a, b in zip(then_by_group, now_by_group, strict=True)]
    pooled = np.concatenate(ratios)
    draw = np.random.default_rng(0)
    medians = [np.median(np.concatenate([ratios[k] for k in draw.integers(0, len(ratios),
                                                                           len(ratios))]))
               for _ in range(2000)]
    low, high = np.percentile(medians, [2.5, 97.5])
    before, now = np.concatenate(then_by_group), np.concatenate(now_by_group)
    mean, mean_low, mean_high = round_ratio([float(a.mean()) for a in then_by_group],
                                            [float(b.mean()) for b in now_by_group], np.mean)
    print(f"baseline run, paired over {args.paired} seeds in {len(groups)} groups of fresh "
          f"processes (the checkouts taking turns of {args.block} seeds): median "
          f"{np.median(now) * 1000:.1f} ms now, {np.median(before) * 1000:.1f} ms at "
          f"{args.reference}; median per-seed ratio {np.median(pooled):.2f}x [95 % CI "
          f"{low:.2f}, {high:.2f}, bootstrap over groups; group medians "
          f"{', '.join(f'{np.median(r):.2f}' for r in ratios)}]; mean run {now.mean() * 1000:.1f}"
          f" ms now, {before.mean() * 1000:.1f} ms: {mean:.2f}x [95 % CI {mean_low:.2f}, "
          f"{mean_high:.2f}] (target >= 3)")


def series(args: argparse.Namespace, reference: Path) -> None:
    """Print the median and mean run of each checkout, its runs back to back in its own process.

    ``--series`` seeds per process in ``--rounds`` rounds, each a fresh process per checkout,
    alternating which goes first. The ratios are of the reference's median (mean) run to this
    checkout's, each the median (mean) of its processes' medians (means), with a 95 % interval
    from a bootstrap over whole rounds (:func:`_timing.round_ratio`): the two processes of a
    round ran minutes apart, so a round carries the machine's speed of its hour to both.
    """
    import numpy as np  # noqa: PLC0415 - only this part summarises
    from tqdm import tqdm  # noqa: PLC0415

    runs: dict[Path, list[list[float]]] = {reference: [], ROOT: []}
    with tqdm(total=2 * args.rounds, desc="series of baseline runs", unit="process",
              leave=False) as bar:
        for round_ in range(args.rounds):
            for root in (reference, ROOT) if round_ % 2 == 0 else (ROOT, reference):
                runs[root].append(series_in_child("baseline", args.series, root))
                bar.update()
    for name, statistic in (("median", np.median), ("mean", np.mean)):
        then = [float(statistic(t)) for t in runs[reference]]  # each process's median or mean
        now = [float(statistic(t)) for t in runs[ROOT]]
        ratio, low, high = round_ratio(then, now, statistic)
        rounds = ", ".join(f"{a / b:.2f}" for a, b in zip(then, now, strict=True))
        print(f"baseline run, each checkout's {args.series} seeds back to back in a process of "
              f"its own ({args.rounds} rounds of a fresh process each, alternating): {name} run "
              f"{statistic(now) * 1000:.1f} ms now, {statistic(then) * 1000:.1f} ms at "
              f"{args.reference}: {ratio:.2f}x [95 % CI {low:.2f}, {high:.2f}, bootstrap over "
              f"rounds; by round {rounds}] (target >= 3)")


def mesa_ratio(args: argparse.Namespace, now: float) -> float:
    """Print the agent-steps per CPU second against Mesa's BoltzmannWealth; return ``now``."""
    mesa = boltzmann_rate(args.repeats)
    work = work_per_month()
    per_agent = work["agents"] * work["months"] / now
    per_element = work["elements"] * work["months"] / now
    print(f"Mesa BoltzmannWealth (100 agents, 100 steps): {mesa:,.0f} agent-steps per CPU second")
    print(f"hourglass baseline, per Mesa agent ({work['agents']} peers and home organisations): "
          f"{per_agent:,.0f} agent-steps/s, ratio {per_agent / mesa:.2f}")
    print(f"hourglass baseline, per element of work ({work['elements']:.1f} a month: peers, "
          f"live ties, staff touched): {per_element:,.0f} element-steps/s, "
          f"ratio {per_element / mesa:.2f}")
    return now


def cold(args: argparse.Namespace) -> None:
    """Print the cold start with the compiled cache and without."""
    cold_run(None)  # make sure the compiled caches (Numba's and Python's) are present
    runs, no_bytecode = [], []
    for _ in range(args.repeats):  # interleaved, so load on the machine falls on both alike
        runs.append(cold_run(None))
        no_bytecode.append(cold_run(None, bytecode=False))
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    print(f"hourglass run baseline from a cold process, compiled cache present (best of "
          f"{args.repeats}): {wall:.2f} s wall, {cpu:.2f} CPU-s (target <= 1.5 s on an idle core: "
          f"{'met' if cpu <= 1.5 else 'NOT met'}; load average {os.getloadavg()[0]:.1f})")
    print(f"  without Python's bytecode cache (PYTHONDONTWRITEBYTECODE=1): "
          f"{min(w for w, _ in no_bytecode):.2f} s wall, {min(c for _, c in no_bytecode):.2f} "
          "CPU-s")
    if args.no_uncached:
        return
    with tempfile.TemporaryDirectory() as empty:
        uncached_wall, uncached_cpu = cold_run(empty)
    print(f"  with an empty cache (a fresh worker without it): {uncached_wall:.1f} s wall, "
          f"{uncached_cpu:.1f} CPU-s; python -m simulation.warmup fills the cache ahead")


def posterior(args: argparse.Namespace) -> None:
    """Print a run's CPU at posterior rows, now and at ``--posterior-reference``, interleaved."""
    import pandas as pd  # noqa: PLC0415 - only this part reads the posterior

    frame = pd.read_parquet(ROOT / "hourglass" / "posterior" / "posterior.parquet")
    keys = [c for c in frame.columns if "." in c]
    records = frame[keys].to_dict("records")  # per column: whole numbers stay whole
    rows = [{k: v.item() if hasattr(v, "item") else v for k, v in records[r].items()}
            for r in POSTERIOR_ROWS]
    with tempfile.TemporaryDirectory() as folder:
        reference = export(args.posterior_reference, Path(folder))
        run_in_child("baseline", {"run.months": 1}, root=reference)  # fill its compiled cache
        now = [float("inf")] * len(rows)
        before = [float("inf")] * len(rows)
        for _ in range(2):  # interleaved, so load on the machine falls on both alike
            for i, row in enumerate(rows):
                now[i] = min(now[i], run_in_child("baseline", row, repeats=args.repeats)["cpu"])
                before[i] = min(before[i], run_in_child("baseline", row, repeats=args.repeats,
                                                        root=reference)["cpu"])
        point = min(run_in_child("baseline", repeats=args.repeats)["cpu"] for _ in range(2))
    mean_now, mean_before = sum(now) / len(now), sum(before) / len(before)
    print(f"run at posterior rows {', '.join(map(str, POSTERIOR_ROWS))}, CPU (mean of the rows' "
          f"best of {args.repeats}): {mean_now * 1000:.1f} ms now, {mean_before * 1000:.1f} ms at "
          f"{args.posterior_reference}: {mean_before / mean_now:.2f}x fewer CPU-seconds; "
          f"{mean_now / point:.1f}x a run at the point defaults ({point * 1000:.1f} ms)")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", default="e0fb30c",
                        help="commit compared with (default e0fb30c: main when issue 13 was filed)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to measure (default all)")
    parser.add_argument("--posterior-reference", default="e76bb0b",
                        help="commit the posterior part compares with (default e76bb0b)")
    parser.add_argument("--paired", type=int, default=400, metavar="SEEDS",
                        help="baseline: also pair the two checkouts' runs seed by seed over this "
                        "many seeds (default 400; 0: skip)")
    parser.add_argument("--block", type=int, default=10, metavar="SEEDS",
                        help="baseline: the paired checkouts take turns of this many seeds "
                        "(default 10; 1 alternates seed by seed)")
    parser.add_argument("--series", type=int, default=200, metavar="SEEDS",
                        help="baseline: also run each checkout's seeds back to back in processes "
                             "of its own (default 200; 0 skips)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="baseline: the series run in this many rounds, each a fresh process "
                        "per checkout (default 8)")
    parser.add_argument("--groups", type=int, default=8,
                        help="baseline: the paired seeds run in this many groups, each with fresh "
                        "processes (default 8)")
    parser.add_argument("--no-uncached", action="store_true",
                        help="cold: skip the run with an empty cache (it compiles every kernel)")
    args = parser.parse_args()
    for name in ("repeats", "groups", "block", "rounds"):
        if (value := getattr(args, name)) < 1:
            parser.error(f"--{name} must be a whole number of at least 1, not {value}")
    if "baseline" in args.parts or "mesa" in args.parts:
        baseline_and_mesa(args)
    if "cold" in args.parts:
        cold(args)
    if "posterior" in args.parts:
        posterior(args)


if __name__ == "__main__":
    main()
