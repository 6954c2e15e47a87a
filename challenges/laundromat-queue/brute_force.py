def laundromat(machines: int, gaps: list[int], durations: list[int]) -> tuple[int, int]:
    free_at = [0] * machines
    washes = [0] * machines
    arrival = 0
    total_wait = 0
    last_start = 0
    for gap, duration in zip(gaps, durations):
        arrival += gap
        # earliest moment some machine is free, but never before the previous customer started
        start = max(arrival, last_start, min(free_at))
        for m in range(machines):
            if free_at[m] <= start:
                break
        total_wait += start - arrival
        free_at[m] = start + duration
        washes[m] += 1
        last_start = start
    best = max(washes)
    return (total_wait, washes.index(best))
