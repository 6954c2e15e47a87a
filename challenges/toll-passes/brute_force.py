def cheapest_trip(n: int, roads: list[list[int]], passes: int) -> int:
    # Bellman-Ford on (town, passes used), repeated until nothing improves.
    inf = float("inf")
    dist = [[inf] * n for _ in range(passes + 1)]
    dist[0][0] = 0
    changed = True
    while changed:
        changed = False
        for used in range(passes + 1):
            row = dist[used]
            up = dist[used + 1] if used < passes else None
            for u, v, toll in roads:
                for a, b in ((u, v), (v, u)):
                    if row[a] + toll < row[b]:
                        row[b] = row[a] + toll
                        changed = True
                    if up is not None and row[a] < up[b]:
                        up[b] = row[a]
                        changed = True
    best = min(dist[used][n - 1] for used in range(passes + 1))
    return -1 if best == inf else best
