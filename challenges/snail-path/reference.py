def snail_path(garden: list[list[int]]) -> list[int]:
    path: list[int] = []
    if not garden or not garden[0]:
        return path
    top, bottom = 0, len(garden) - 1
    left, right = 0, len(garden[0]) - 1
    while top <= bottom and left <= right:
        path.extend(garden[top][c] for c in range(left, right + 1))
        path.extend(garden[r][right] for r in range(top + 1, bottom + 1))
        if top < bottom:
            path.extend(garden[bottom][c] for c in range(right - 1, left - 1, -1))
        if left < right:
            path.extend(garden[r][left] for r in range(bottom - 1, top, -1))
        top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
    return path
