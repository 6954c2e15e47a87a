# Correct but slow (the validator proves it exceeds the time limit on the largest hidden tests): each new smooth
# number is the smallest product smooth[i] * p above the last one, searched among all products every time,
# O(n^2 * len(primes)) instead of the reference's O(n * len(primes)).
def nth_smooth(n: int, primes: list[int]) -> int:
    smooth = [1]
    while len(smooth) < n:
        last = smooth[-1]
        smooth.append(min(s * p for s in smooth for p in primes if s * p > last))
    return smooth[n - 1]
