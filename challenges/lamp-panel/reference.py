def press_switches(state: int, presses: list[int]) -> int:
    for switch in presses:
        if switch == -1:
            state = 0
        else:
            state ^= 1 << switch
    return state
