# Correct but slow (the validator proves it exceeds the time limit on the largest hidden tests): every window is
# added up again in a Python loop, O(n * k) instead of the reference's O(n).
def window_means(values: list[float], k: int) -> list[float]:
    means = []
    for start in range(len(values) - k + 1):
        total = 0
        for i in range(start, start + k):
            total += values[i]
        means.append(total / k)
    return means
