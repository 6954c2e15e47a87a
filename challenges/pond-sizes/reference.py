def pond_sizes(farm: list[str]) -> list[int]:
    rows = len(farm)
    cols = len(farm[0]) if rows else 0
    seen = [[False] * cols for _ in range(rows)]
    sizes = []
    for r in range(rows):
        for c in range(cols):
            if farm[r][c] != "~" or seen[r][c]:
                continue
            seen[r][c] = True
            stack = [(r, c)]
            size = 0
            while stack:
                y, x = stack.pop()
                size += 1
                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if 0 <= ny < rows and 0 <= nx < cols and farm[ny][nx] == "~" and not seen[ny][nx]:
                        seen[ny][nx] = True
                        stack.append((ny, nx))
            sizes.append(size)
    return sorted(sizes, reverse=True)
