import heapq


def laundromat(machines: int, gaps: list[int], durations: list[int]) -> tuple[int, int]:
    n = len(gaps)
    free = list(range(min(machines, n)))  # heap of machine numbers free right now (others never get used)
    busy: list[tuple[int, int]] = []      # heap of (minute it frees up, machine)
    washes = [0] * len(free)
    now = 0    # arrival minute of the current customer
    clock = 0  # start minute of the previous customer: nobody starts earlier (first come, first served)
    total_wait = 0
    for gap, duration in zip(gaps, durations):
        now += gap  # arrival minute
        start = max(now, clock)
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if not free:  # everyone is busy: wait for the first machine(s) to finish
            start = busy[0][0]
            while busy and busy[0][0] == start:
                heapq.heappush(free, heapq.heappop(busy)[1])
        total_wait += start - now
        clock = start
        machine = heapq.heappop(free)
        washes[machine] += 1
        heapq.heappush(busy, (start + duration, machine))
    if n == 0:
        return (0, 0)
    best = max(washes)
    return (total_wait, washes.index(best))
