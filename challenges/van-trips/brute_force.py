from itertools import permutations


def fewest_trips(weights: list[int], capacity: int) -> int:
    if any(w > capacity for w in weights):
        return -1
    if not weights:
        return 0
    best = len(weights)
    # Try every loading order: fill the van in that order, leave when the next item does not fit.
    for order in permutations(weights):
        trips, load = 1, 0
        for w in order:
            if load + w > capacity:
                trips += 1
                load = 0
            load += w
        best = min(best, trips)
    return best
