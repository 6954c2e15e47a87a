def nth_smooth(n: int, primes: list[int]) -> int:
    primes = sorted(primes)
    smooth = [1]
    # next_index[j]: the smallest i such that smooth[i] * primes[j] is not yet in the list.
    next_index = [0] * len(primes)
    candidates = list(primes)
    while len(smooth) < n:
        value = min(candidates)
        smooth.append(value)
        for j, p in enumerate(primes):
            if candidates[j] == value:
                next_index[j] += 1
                candidates[j] = smooth[next_index[j]] * p
    return smooth[n - 1]
