def fewest_trips(weights: list[int], capacity: int) -> int:
    n = len(weights)
    if any(w > capacity for w in weights):
        return -1
    if n == 0:
        return 0
    # best[mask]: the best way to carry exactly the items of mask, as (trips, load of the last trip),
    # encoded as trips * scale + load so that comparing integers compares the pairs. Trips start at 1.
    scale = capacity + 1
    full = 1 << n
    inf = (n + 2) * scale
    best = [inf] * full
    best[0] = 1 * scale + 0  # one trip started, empty
    bits = [(1 << i, w) for i, w in enumerate(weights)]
    for mask in range(full):
        state = best[mask]
        trips, load = divmod(state, scale)
        for bit, w in bits:
            if mask & bit:
                continue
            if load + w <= capacity:
                candidate = state + w
            else:
                candidate = (trips + 1) * scale + w  # start a new trip with this item
            target = mask | bit
            if candidate < best[target]:
                best[target] = candidate
    return best[full - 1] // scale
