"""Throughput of the hourglass model against Mesa's bundled BoltzmannWealth, measured in one run.

Prints agent-steps per second (agents = peers + staff; steps = months) for the baseline and for
BoltzmannWealth (100 agents, 100 steps), their ratio, and how run time grows with staff from
1,000 to 100,000 (the exponent of a log-log fit), both when organisations grow and when their
number grows. Usage: ``python benchmarks/throughput.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

from simulation import PeerLearningModel, Scenario


def best_time(run, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def boltzmann_rate(repeats: int) -> float:
    """Agent-steps per second of BoltzmannWealth, 100 agents, 100 steps, creation included."""

    def run():
        model = BoltzmannWealth(BoltzmannScenario(n=100, width=10, height=10, rng=1))
        for _ in range(100):
            model.step()

    return 100 * 100 / best_time(run, repeats)


def hourglass_seconds(scenario: Scenario, repeats: int) -> float:
    """Best wall time of one full run, model creation included."""
    return best_time(lambda: PeerLearningModel(scenario, rng=1).run(), repeats)


def agent_steps(scenario: Scenario) -> int:
    """(peers + staff) x months."""
    orgs = scenario["population.home_organisations"]
    peers = orgs * scenario["population.peers_per_organisation"]
    staff = orgs * scenario["population.staff_per_organisation"]
    return (peers + staff) * scenario["run.months"]


def scaling(base: Scenario, sizes: list[tuple[int, int]], repeats: int) -> tuple[float, list]:
    """Fit run time ~ staff^b over (organisations, staff per organisation) pairs."""
    rows = []
    for orgs, per_org in sizes:
        scenario = base.with_overrides(
            {
                "population.home_organisations": orgs,
                "population.staff_per_organisation": per_org,
                "population.countries": min(base["population.countries"], orgs),
            }
        )
        rows.append((orgs * per_org, hourglass_seconds(scenario, repeats)))
    staff, seconds = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
    exponent = float(np.polyfit(staff, seconds, 1)[0])
    return exponent, rows


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    baseline = Scenario.load("baseline")
    PeerLearningModel(baseline, rng=0).run()  # warm imports and caches
    reference = boltzmann_rate(args.repeats)
    seconds = hourglass_seconds(baseline, args.repeats)
    rate = agent_steps(baseline) / seconds
    print(f"BoltzmannWealth (100 agents, 100 steps): {reference:,.0f} agent-steps/s")
    print(
        f"hourglass baseline ({agent_steps(baseline):,} agent-steps): {seconds * 1000:.1f} ms, "
        f"{rate:,.0f} agent-steps/s"
    )

    print("\nscaling with staff, 20 organisations growing from 50 to 5,000 staff:")
    exponent_size, rows = scaling(
        baseline, [(20, n) for n in (50, 150, 500, 1500, 5000)], max(1, args.repeats // 2)
    )
    for staff, secs in rows:
        print(f"  {staff:>7,} staff: {secs * 1000:8.1f} ms")
    print(f"  run time ~ staff^{exponent_size:.2f}")

    print("\nscaling with staff, organisations of 200 staff growing from 5 to 500 in number:")
    exponent_count, rows = scaling(
        baseline, [(n, 200) for n in (5, 16, 50, 160, 500)], max(1, args.repeats // 2)
    )
    for staff, secs in rows:
        print(f"  {staff:>7,} staff: {secs * 1000:8.1f} ms")
    print(f"  run time ~ staff^{exponent_count:.2f}")

    print(
        f"\nscaling exponent from 1,000 to 100,000 staff: "
        f"{exponent_size:.2f} (larger organisations), {exponent_count:.2f} (more organisations)"
    )
    print(f"agent-steps/s ratio vs Mesa BoltzmannWealth: {rate / reference:.1f}")


if __name__ == "__main__":
    main()
