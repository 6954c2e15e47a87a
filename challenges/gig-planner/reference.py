from bisect import bisect_right


def best_tour(offers: list[list[int]], rest: int) -> int:
    # Weighted interval scheduling: sort by end, best[i] is the best total using only the first i offers.
    gigs = sorted(offers, key=lambda o: o[1])
    ends = [end for _, end, _ in gigs]
    best = [0] * (len(gigs) + 1)
    for i, (start, end, fee) in enumerate(gigs):
        # offers j with ends[j] + rest <= start, i.e. ends[j] <= start - rest
        j = bisect_right(ends, start - rest, 0, i)
        best[i + 1] = max(best[i], best[j] + fee)
    return best[-1]
