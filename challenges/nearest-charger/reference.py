from bisect import bisect_left


def nearest_charger(stations: list[float], cars: list[float]) -> list[float]:
    ordered = sorted(stations)
    result = []
    for car in cars:
        i = bisect_left(ordered, car)
        best = float("inf")
        if i < len(ordered):
            best = ordered[i] - car
        if i > 0:
            best = min(best, car - ordered[i - 1])
        result.append(float(best))
    return result
