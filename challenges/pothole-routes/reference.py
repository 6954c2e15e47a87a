MOD = 1_000_000_007


def safe_routes(width: int, height: int, potholes: list[list[int]]) -> int:
    n = width + height
    fact = [1] * (n + 1)
    for i in range(1, n + 1):
        fact[i] = fact[i - 1] * i % MOD
    inv = [1] * (n + 1)
    inv[n] = pow(fact[n], MOD - 2, MOD)
    for i in range(n, 0, -1):
        inv[i - 1] = inv[i] * i % MOD

    def routes(dx: int, dy: int) -> int:
        return fact[dx + dy] * inv[dx] % MOD * inv[dy] % MOD

    # bad[i]: routes from the start to point i that meet no pothole before reaching it.
    points = sorted(tuple(p) for p in potholes) + [(width, height)]
    # Points are sorted by x, so only the earlier ones can lie on a route to point i.
    bad: list[int] = []
    for i, (x, y) in enumerate(points):
        total = routes(x, y)
        for j in range(i):
            px, py = points[j]
            if py <= y:
                dx, dy = x - px, y - py
                total -= bad[j] * fact[dx + dy] * inv[dx] * inv[dy]  # reduced once, below
        bad.append(total % MOD)
    return bad[-1]
