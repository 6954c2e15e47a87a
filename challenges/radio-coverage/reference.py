def smallest_range(houses: list[int], transmitters: int) -> int:
    xs = sorted(set(houses))
    if len(xs) <= transmitters:
        return 0

    def enough(r: int) -> bool:
        # Greedy: the leftmost uncovered house decides; put a transmitter r metres to its right.
        used = 0
        reach = -1
        for x in xs:
            if x > reach:
                used += 1
                if used > transmitters:
                    return False
                reach = x + 2 * r
        return True

    lo, hi = 0, (xs[-1] - xs[0] + 1) // 2  # hi always suffices
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
