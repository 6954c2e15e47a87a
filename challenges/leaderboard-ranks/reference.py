def rank_players(scores: dict[str, int]) -> dict[str, int]:
    ranks: dict[str, int] = {}
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    for position, (name, points) in enumerate(ordered, start=1):
        if position > 1 and points == ordered[position - 2][1]:
            ranks[name] = ranks[ordered[position - 2][0]]
        else:
            ranks[name] = position
    return ranks
