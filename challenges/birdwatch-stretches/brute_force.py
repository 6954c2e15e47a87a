def count_stretches(log: str, wanted: dict[str, int]) -> int:
    n = len(log)
    total = 0
    for i in range(n):
        seen = {}
        for j in range(i, n):
            seen[log[j]] = seen.get(log[j], 0) + 1
            if all(seen.get(c, 0) >= k for c, k in wanted.items()):
                total += n - j
                break
    return total
