from operator import add

MOD = 1_000_000_007


def lucky_paths(grid: list[list[int]], k: int) -> int:
    # ways[c][s]: routes reaching column c of the current row whose coins are = s (mod k)
    cols = len(grid[0])
    zero = [0] * k
    ways = [zero] * cols
    for r, row in enumerate(grid):
        reduce = r % 16 == 15  # reduce modulo MOD every 16 rows: the counts stay small integers in between
        left = zero
        new = []
        for c, coins in enumerate(row):
            if coins < 0:
                cur = zero
            else:
                if r == 0 and c == 0:
                    base = [1] + [0] * (k - 1)
                elif reduce:
                    base = [(a + b) % MOD for a, b in zip(ways[c], left)]
                else:
                    base = list(map(add, ways[c], left))
                s = coins % k  # collecting the coins shifts every residue by s
                cur = base[-s:] + base[:-s] if s else base
            new.append(cur)
            left = cur
        ways = new
    return ways[-1][0] % MOD
