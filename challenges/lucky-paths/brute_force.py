def lucky_paths(grid: list[list[int]], k: int) -> int:
    rows, cols = len(grid), len(grid[0])
    count = 0

    def walk(r, c, coins):
        nonlocal count
        if grid[r][c] < 0:
            return
        coins += grid[r][c]
        if r == rows - 1 and c == cols - 1:
            if coins % k == 0:
                count += 1
            return
        if r + 1 < rows:
            walk(r + 1, c, coins)
        if c + 1 < cols:
            walk(r, c + 1, coins)

    walk(0, 0, 0)
    return count % 1_000_000_007
