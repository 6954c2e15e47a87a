def is_peak_hike(heights: list[int]) -> bool:
    n = len(heights)
    i = 0
    while i + 1 < n and heights[i] < heights[i + 1]:
        i += 1
    if i == 0 or i == n - 1:
        return False
    while i + 1 < n and heights[i] > heights[i + 1]:
        i += 1
    return i == n - 1
