def sunniest_row(garden: list[str]) -> int | None:
    best, best_count = None, 0
    for i, row in enumerate(garden):
        count = row.count("*")
        if count > best_count:
            best, best_count = i, count
    return best
