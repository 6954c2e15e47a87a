def smallest_range(houses: list[int], transmitters: int) -> int:
    xs = sorted(houses)
    r = 0
    while True:
        used, reach = 0, -1
        for x in xs:
            if x > reach:
                used += 1
                reach = x + 2 * r
        if used <= transmitters:
            return r
        r += 1
