def window_means(values: list[float], k: int) -> list[float]:
    if k > len(values):
        return []
    total = sum(values[:k])
    means = [total / k]
    for i in range(k, len(values)):
        total += values[i] - values[i - k]
        means.append(total / k)
    return means
