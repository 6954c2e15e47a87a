"""Tournament formats as pure rules: round robin, Swiss and arena pairing, scoring and standings.

No I/O, no clock, no service state: the service rooms feed these functions what happened and act on what they
return. The rules in prose are ``docs/tournaments.md``.
"""

from .arena import ArenaGame, FreePlayer, arena_standings, may_meet, pair_arena, score_sequence
from .roundrobin import round_robin_schedule, round_robin_standings, round_robin_withdrawal
from .standings import Entrant, Game, RulesError, Standing
from .swiss import SwissRound, pair_swiss_round, swiss_scores, swiss_standings

__all__ = [
    "ArenaGame", "Entrant", "FreePlayer", "Game", "RulesError", "Standing", "SwissRound", "arena_standings",
    "may_meet", "pair_arena", "pair_swiss_round", "round_robin_schedule", "round_robin_standings",
    "round_robin_withdrawal", "score_sequence", "swiss_scores", "swiss_standings",
]
