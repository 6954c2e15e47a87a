def best_tour(offers: list[list[int]], rest: int) -> int:
    # Quadratic DP: for every offer, look at every offer ending early enough before it.
    gigs = sorted(offers, key=lambda o: o[1])
    best = [0] * len(gigs)
    answer = 0
    for i, (start, end, fee) in enumerate(gigs):
        value = fee
        for j in range(i):
            if gigs[j][1] + rest <= start and best[j] + fee > value:
                value = best[j] + fee
        best[i] = value
        answer = max(answer, value)
    return answer
