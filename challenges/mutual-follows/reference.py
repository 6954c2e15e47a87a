def mutual_follows(follows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    edges = set(follows)
    return [(a, b) for a, b in edges if a < b and (b, a) in edges]
