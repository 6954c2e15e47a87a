"""The seeded simulation of benchmarks/rating_simulation.py: ratings must come to order players by skill."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "rating_simulation", Path(__file__).resolve().parents[2] / "benchmarks" / "rating_simulation.py"
)
simulation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(simulation)


@pytest.mark.parametrize("system", ["elo", "glicko2"])
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
