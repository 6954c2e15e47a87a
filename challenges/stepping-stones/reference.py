def best_crossing(stones: list[int]) -> int:
    # best totals when standing on the place two back and one back; place -1 is the near bank
    two_back, one_back = float("-inf"), 0
    for value in stones:
        two_back, one_back = one_back, max(two_back, one_back) + value
    # the far bank is reached from either of the last two places
    return max(two_back, one_back)
