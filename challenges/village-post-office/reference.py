def post_office(parents: list[int], population: list[int]) -> tuple[int, int]:
    n = len(parents)
    children: list[list[int]] = [[] for _ in range(n)]
    for child, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(child)
    # BFS order from the hall: parents always come before their children
    order = [0]
    depth = [0] * n
    for house in order:
        for child in children[house]:
            depth[child] = depth[house] + 1
            order.append(child)
    # people living in the subtree of each house
    below = list(population)
    for house in reversed(order):
        if house:
            below[parents[house]] += below[house]
    total = below[0]
    cost = [0] * n
    cost[0] = sum(p * d for p, d in zip(population, depth))
    # moving the office from a parent to its child: the child's subtree gets one step closer, everyone else farther
    for house in order:
        if house:
            cost[house] = cost[parents[house]] + total - 2 * below[house]
    best = min(cost)
    return (cost.index(best), best)
