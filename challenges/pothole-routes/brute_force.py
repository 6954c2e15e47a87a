def safe_routes(width: int, height: int, potholes: list[list[int]]) -> int:
    holes = {tuple(p) for p in potholes}
    row = [0] * (width + 1)  # row[x]: routes to (x, y) for the current y
    for y in range(height + 1):
        for x in range(width + 1):
            if (x, y) in holes:
                row[x] = 0
            elif x == 0 and y == 0:
                row[x] = 1
            elif x > 0:
                row[x] = (row[x] + row[x - 1]) % 1_000_000_007
    return row[width]
