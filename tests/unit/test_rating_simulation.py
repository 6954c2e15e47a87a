"""The seeded simulation of benchmarks/rating_simulation.py: ratings must come to order players by skill, and
cheaters must not distort them under the service's rules (while they do under the rules before)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "rating_simulation", Path(__file__).resolve().parents[2] / "benchmarks" / "rating_simulation.py"
)
simulation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(simulation)

SYSTEMS = ["elo", "glicko2"]
SEEDS = [7, 8]
# 150 players of whom 30 cheat (10 snipers, 10 dodgers, 10 farmers), 100 rounds over 10 days.
CHEATERS = dict(players=150, rounds=100, cheaters=0.2)


@functools.lru_cache(maxsize=None)
def runs(seed: int) -> dict:
    """Per (system, "none" | "protected" | "unprotected"): one run of the population; "none" has the would-be
    cheaters play honestly."""
    return simulation.run_all(seed=seed, **CHEATERS)


@pytest.mark.parametrize("system", SYSTEMS)
def test_ratings_order_players_by_hidden_skill(system):
    result = simulation.simulate(system, players=200, rounds=150, seed=7)
    print(f"\n{system}: spearman={result['spearman']:.3f} mean pair gap={result['mean_gap']:.1f}")
    assert result["spearman"] >= 0.8
    # Pairs stay close: far inside the matchmaker's starting window of 100 points on average.
    assert result["mean_gap"] < 50
    assert result["games"] > 200 * 150 / 2 * 0.9  # nearly everyone played every round


def test_spearman_is_a_rank_correlation():
    assert simulation.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert simulation.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert simulation.spearman([1, 2, 3], [1, 1, 1.5]) == pytest.approx(0.866, abs=1e-3)


def test_percentiles_run_from_lowest_to_highest():
    assert simulation.percentiles([30, 10, 20]) == [100.0, 0.0, 50.0]
    assert simulation.percentiles([1, 1, 2]) == [25.0, 25.0, 100.0]


def test_the_service_shows_no_copyable_text_in_ranked_battles():
    # What makes sniping useless under the rules: the service's default mirror for ranked battles, every pool.
    assert {simulation.service_mirror(pool) for pool in ("any", "easy", "medium", "hard")} == {"shape"}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_honest_ratings_are_not_distorted_by_cheaters_under_the_rules(system, seed):
    none, protected = runs(seed)[system, "none"], runs(seed)[system, "protected"]
    print(f"\n{system} seed {seed}: honest spearman {none['honest_spearman']:.3f} without cheaters, "
          f"{protected['honest_spearman']:.3f} with; places off by {none['honest_percentile_error']:.1f} "
          f"and {protected['honest_percentile_error']:.1f}")
    # Measured over seeds 1-20, both systems: Spearman within 0.015, places off by at most 1.1 points more.
    assert abs(protected["honest_spearman"] - none["honest_spearman"]) <= 0.03
    assert protected["honest_percentile_error"] <= none["honest_percentile_error"] + 2.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_cheaters_gain_nothing_under_the_rules(system, seed):
    r = runs(seed)[system, "protected"]
    gain = r["percentile_gain"]
    print(f"\n{system} seed {seed}: percentile gain {gain}")
    assert r["cheaters"] == {"sniper": 10, "dodger": 10, "farmer": 10}
    # Measured over seeds 1-20: -4..+5 points for every kind, as for the same accounts playing honestly.
    assert gain["sniper"] < 8
    assert gain["farmer"] < 8
    assert abs(gain["dodger"]) < 8
    # The rules did the work: every farm battle was an unrated early exit, dodgers met the cooldown, the day clock
    # made the pair limit bite, and nothing was aborted (a leaver loses when the grace period ends).
    assert r["farm_battles"] > 0 and r["early_exit_unrated"] > r["farm_battles"]
    assert r["cooldown_refusals"] > 0
    assert r["pair_limit_unrated"] > 0
    assert r["aborted"] == 0
    assert r["days"] == 10


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_without_the_rules_snipers_and_farmers_climb(system, seed):
    none, unprotected = runs(seed)[system, "none"], runs(seed)[system, "unprotected"]
    gain = unprotected["percentile_gain"]
    print(f"\n{system} seed {seed}: percentile gain {gain}; honest places off by "
          f"{unprotected['honest_percentile_error']:.1f} (without cheaters {none['honest_percentile_error']:.1f})")
    # Measured over seeds 1-20: snipers +32..+63, farmers +25..+51 (Elo) and +12..+29 (Glicko-2); honest
    # players' places off by 1.2-3.6 points more than without cheaters (2.3-3.1 on these seeds).
    assert gain["sniper"] > 25
    assert gain["farmer"] > 10
    assert unprotected["honest_percentile_error"] > none["honest_percentile_error"] + 1.0
    assert unprotected["early_exit_unrated"] == unprotected["pair_limit_unrated"] == 0
    assert unprotected["aborted"] > 0  # the dodges
