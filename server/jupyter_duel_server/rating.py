"""Ratings: how a battle's result moves the two players' ratings.

A rating system is a plug point (``DuelService.rating_class``): anything with ``initial_rating`` and
``update(rating_a, rating_b, score_a) -> (new_a, new_b)``.
"""

from __future__ import annotations

from traitlets import Float
from traitlets.config import LoggingConfigurable


class EloRating(LoggingConfigurable):
    """The Elo system: 400-point logistic expectation, fixed K."""

    initial_rating = Float(1200.0, help="Rating of a new player.").tag(config=True)
    k_factor = Float(32.0, help="Largest rating change one battle can cause.").tag(config=True)

    @staticmethod
    def expected(rating_a: float, rating_b: float) -> float:
        """Probability that A beats B."""
        return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))

    def update(self, rating_a: float, rating_b: float, score_a: float) -> tuple[float, float]:
        """New ratings after a battle; ``score_a`` is 1 for an A win, 0.5 for a draw, 0 for a loss."""
        if not 0.0 <= score_a <= 1.0:
            raise ValueError("score must be between 0 and 1")
        delta = self.k_factor * (score_a - self.expected(rating_a, rating_b))
        return rating_a + delta, rating_b - delta
