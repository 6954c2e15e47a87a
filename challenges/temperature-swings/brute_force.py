def total_swing(readings: list[int]) -> int:
    n = len(readings)
    total = 0
    for i in range(n):
        hi = lo = readings[i]
        for j in range(i, n):
            x = readings[j]
            if x > hi:
                hi = x
            elif x < lo:
                lo = x
            total += hi - lo
    return total
