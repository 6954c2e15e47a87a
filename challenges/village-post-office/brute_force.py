from collections import deque


def post_office(parents: list[int], population: list[int]) -> tuple[int, int]:
    n = len(parents)
    neighbours = [[] for _ in range(n)]
    for child, parent in enumerate(parents):
        if parent >= 0:
            neighbours[child].append(parent)
            neighbours[parent].append(child)
    best = None
    for office in range(n):
        dist = [-1] * n
        dist[office] = 0
        queue = deque([office])
        while queue:
            house = queue.popleft()
            for other in neighbours[house]:
                if dist[other] < 0:
                    dist[other] = dist[house] + 1
                    queue.append(other)
        hours = sum(p * d for p, d in zip(population, dist))
        if best is None or hours < best[1]:
            best = (office, hours)
    return best
