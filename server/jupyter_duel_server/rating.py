"""Ratings: how a battle's result moves the two players' ratings.

A rating system is a plug point (``DuelService.rating_class``): Elo by default, Glicko-2 selectable. Both work on
``PlayerRating`` values and are pure arithmetic; the store applies their result inside the transaction that
records the battle, so an update is never computed from a stale rating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class PlayerRating:
    """What a rating system knows about one player."""

    rating: float
    rd: float = 350.0  # rating deviation (Glicko-2); Elo leaves it alone
    volatility: float = 0.06
    games: int = 0
    last_rated_at: float | None = None


class RatingSystem(LoggingConfigurable):
    """Base class: a new player's rating, an update from one result, and whether a rating is provisional."""

    initial_rating = Float(1200.0, help="Rating of a new player.").tag(config=True)

    def initial(self) -> PlayerRating:
        return PlayerRating(self.initial_rating)

    def update(
        self, a: PlayerRating, b: PlayerRating, score_a: float, now: float
    ) -> tuple[PlayerRating, PlayerRating]:
        raise NotImplementedError

    def provisional(self, player: PlayerRating, now: float) -> bool:
        raise NotImplementedError

    @staticmethod
    def _check_score(score_a: float) -> None:
        if not 0.0 <= score_a <= 1.0:
            raise ValueError("score must be between 0 and 1")


class EloRating(RatingSystem):
    """Elo: a 400-point logistic expectation, with a larger K while a player's rating is provisional."""

    k_factor = Float(24.0, help="Largest rating change one battle can cause, once established.").tag(config=True)
    provisional_k_factor = Float(40.0, help="K during the provisional period.").tag(config=True)
    provisional_games = Int(10, help="Rated battles a player's rating counts as provisional.").tag(config=True)

    @staticmethod
    def expected(rating_a: float, rating_b: float) -> float:
        """Probability that A beats B."""
        return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))

    def k_for(self, player: PlayerRating) -> float:
        return self.provisional_k_factor if player.games < self.provisional_games else self.k_factor

    def update(self, a, b, score_a, now):
        self._check_score(score_a)
        expected_a = self.expected(a.rating, b.rating)
        new_a = a.rating + self.k_for(a) * (score_a - expected_a)
        new_b = b.rating + self.k_for(b) * ((1.0 - score_a) - (1.0 - expected_a))
        return (
            replace(a, rating=new_a, games=a.games + 1, last_rated_at=now),
            replace(b, rating=new_b, games=b.games + 1, last_rated_at=now),
        )

    def provisional(self, player, now):
        return player.games < self.provisional_games


GLICKO_SCALE = 173.7178


class Glicko2Rating(RatingSystem):
    """Glickman's Glicko-2: a rating, its deviation and a volatility per player.

    Every battle is a rating period of one game. A player's deviation grows with inactivity: one period's worth of
    volatility per ``period_days`` without a rated battle, capped at the initial deviation; so the per-period
    increase of step 6 is not applied again on each game (see ``rate``).
    """

    initial_rating = Float(1500.0, help="Rating of a new player.").tag(config=True)
    initial_rd = Float(350.0, help="Rating deviation of a new player.").tag(config=True)
    initial_volatility = Float(0.06, help="Volatility of a new player.").tag(config=True)
    tau = Float(0.5, help="System constant: how much volatility may change (0.3-1.2).").tag(config=True)
    period_days = Float(7.0, help="Days of inactivity that count as one rating period.").tag(config=True)
    provisional_rd = Float(110.0, help="A rating with a larger deviation is shown as provisional.").tag(config=True)

    def initial(self) -> PlayerRating:
        return PlayerRating(self.initial_rating, self.initial_rd, self.initial_volatility)

    def _aged_phi(self, player: PlayerRating, now: float) -> float:
        phi = player.rd / GLICKO_SCALE
        if player.last_rated_at is None:
            return phi
        periods = max(0.0, (now - player.last_rated_at) / (self.period_days * SECONDS_PER_DAY))
        return min(math.sqrt(phi * phi + periods * player.volatility**2), self.initial_rd / GLICKO_SCALE)

    def effective_rd(self, player: PlayerRating, now: float) -> float:
        return self._aged_phi(player, now) * GLICKO_SCALE

    def rate(
        self, player: PlayerRating, results: list[tuple[float, float, float]], now: float | None = None,
        *, skip_deviation_increase: bool = False,
    ) -> PlayerRating:
        """One rating period: ``results`` are (opponent rating, opponent RD, score). The published algorithm.

        ``skip_deviation_increase`` leaves out step 6's pre-period increase (phi* = sqrt(phi^2 + sigma'^2)): when
        every game is a period of its own and the deviation already grew with the time away (``now``, see
        ``period_days``), applying it on top would widen the deviation once more per game, so that players who
        play often would keep a needlessly large deviation (lichess's ``skipDeviationIncrease`` for the same
        reason). The rest of the update is unchanged."""
        mu = (player.rating - 1500.0) / GLICKO_SCALE
        phi = player.rd / GLICKO_SCALE if now is None else self._aged_phi(player, now)
        sigma = player.volatility
        if not results:
            return replace(player, rd=min(math.sqrt(phi * phi + sigma * sigma), 350 / GLICKO_SCALE) * GLICKO_SCALE)
        v_inv = 0.0
        delta_sum = 0.0
        for opp_rating, opp_rd, score in results:
            mu_j, phi_j = (opp_rating - 1500.0) / GLICKO_SCALE, opp_rd / GLICKO_SCALE
            g = 1.0 / math.sqrt(1.0 + 3.0 * phi_j * phi_j / math.pi**2)
            e = 1.0 / (1.0 + math.exp(-g * (mu - mu_j)))
            v_inv += g * g * e * (1.0 - e)
            delta_sum += g * (score - e)
        v = 1.0 / v_inv
        delta = v * delta_sum
        new_sigma = self._new_volatility(phi, sigma, v, delta)
        phi_star = phi if skip_deviation_increase else math.sqrt(phi * phi + new_sigma * new_sigma)
        new_phi = 1.0 / math.sqrt(1.0 / (phi_star * phi_star) + 1.0 / v)
        new_mu = mu + new_phi * new_phi * delta_sum
        return replace(
            player,
            rating=GLICKO_SCALE * new_mu + 1500.0,
            rd=GLICKO_SCALE * new_phi,
            volatility=new_sigma,
            games=player.games + len(results),
            last_rated_at=now if now is not None else player.last_rated_at,
        )

    def _new_volatility(self, phi: float, sigma: float, v: float, delta: float) -> float:
        """Step 5 of the algorithm: the Illinois variant of regula falsi on f(x) = 0."""
        tau, eps = self.tau, 1e-6
        a = math.log(sigma * sigma)

        def f(x: float) -> float:
            ex = math.exp(x)
            num = ex * (delta * delta - phi * phi - v - ex)
            den = 2.0 * (phi * phi + v + ex) ** 2
            return num / den - (x - a) / (tau * tau)

        big_a = a
        if delta * delta > phi * phi + v:
            big_b = math.log(delta * delta - phi * phi - v)
        else:
            k = 1
            while f(a - k * tau) < 0:
                k += 1
            big_b = a - k * tau
        f_a, f_b = f(big_a), f(big_b)
        for _ in range(100):
            if abs(big_b - big_a) <= eps:
                break
            big_c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
            f_c = f(big_c)
            if f_c * f_b <= 0:
                big_a, f_a = big_b, f_b
            else:
                f_a /= 2.0
            big_b, f_b = big_c, f_c
        return math.exp(big_a / 2.0)

    def update(self, a, b, score_a, now):
        self._check_score(score_a)
        rd_a, rd_b = self.effective_rd(a, now), self.effective_rd(b, now)
        # One game, one period: the deviation grew with the time away already (effective_rd / _aged_phi).
        new_a = self.rate(a, [(b.rating, rd_b, score_a)], now, skip_deviation_increase=True)
        new_b = self.rate(b, [(a.rating, rd_a, 1.0 - score_a)], now, skip_deviation_increase=True)
        return new_a, new_b

    def provisional(self, player, now):
        return self.effective_rd(player, now) > self.provisional_rd


RATING_SYSTEMS = {"elo": EloRating, "glicko2": Glicko2Rating}
