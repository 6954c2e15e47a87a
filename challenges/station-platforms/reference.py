def platforms_needed(arrivals: list[int], departures: list[int]) -> int:
    events = [(minute, 0) for minute in arrivals] + [(minute, 1) for minute in departures]
    # at the same minute, arrivals (0) come before departures (1): both trains are there
    events.sort()
    present = most = 0
    for _, kind in events:
        if kind == 0:
            present += 1
            most = max(most, present)
        else:
            present -= 1
    return most
