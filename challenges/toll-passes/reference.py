import heapq


def cheapest_trip(n: int, roads: list[list[int]], passes: int) -> int:
    # Dijkstra on states (town, passes used): index = used * n + town.
    adj = [[] for _ in range(n)]
    for u, v, toll in roads:
        adj[u].append((v, toll))
        adj[v].append((u, toll))
    inf = float("inf")
    dist = [inf] * (n * (passes + 1))
    dist[0] = 0
    heap = [(0, 0)]
    target = n - 1
    while heap:
        d, state = heapq.heappop(heap)
        if d > dist[state]:
            continue
        used, town = divmod(state, n)
        if town == target:
            return d  # the first state of the target popped is the cheapest
        base = used * n
        nxt = base + n if used < passes else -1
        for v, toll in adj[town]:
            s = base + v
            nd = d + toll
            if nd < dist[s]:
                dist[s] = nd
                heapq.heappush(heap, (nd, s))
            if nxt >= 0:
                s = nxt + v
                if d < dist[s]:
                    dist[s] = d
                    heapq.heappush(heap, (d, s))
    return -1
