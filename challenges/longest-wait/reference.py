def longest_wait(departures: list[int]) -> tuple[int, int] | None:
    best = None
    for a, b in zip(departures, departures[1:]):
        if best is None or b - a > best[1] - best[0]:
            best = (a, b)
    return best
