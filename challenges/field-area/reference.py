def field_area(corners: list[tuple[int, int]]) -> float:
    if len(corners) < 3:
        return 0.0
    twice = 0
    for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1]):
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2
