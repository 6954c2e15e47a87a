def gondola_trips(weights: list[int], limit: int) -> int:
    ordered = sorted(weights)
    light, heavy = 0, len(ordered) - 1
    cabins = 0
    while light <= heavy:
        # the heaviest hiker left rides with the lightest one if they fit together
        if light < heavy and ordered[light] + ordered[heavy] <= limit:
            light += 1
        heavy -= 1
        cabins += 1
    return cabins
