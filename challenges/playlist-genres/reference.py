from collections import Counter


def longest_set(genres: list[str], k: int) -> int:
    in_window: Counter[str] = Counter()
    best = start = 0
    for end, genre in enumerate(genres):
        in_window[genre] += 1
        while len(in_window) > k:
            leaving = genres[start]
            in_window[leaving] -= 1
            if in_window[leaving] == 0:
                del in_window[leaving]
            start += 1
        best = max(best, end - start + 1)
    return best
