from collections import defaultdict


def count_streaks(changes: list[int], target: int) -> int:
    seen = defaultdict(int)  # how many prefixes had each running total
    seen[0] = 1
    running = count = 0
    for change in changes:
        running += change
        count += seen[running - target]
        seen[running] += 1
    return count
