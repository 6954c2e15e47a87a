def next_taller(heights: list[int]) -> list[int]:
    result = [0] * len(heights)
    waiting: list[int] = []  # indices still looking for a taller building, heights non-increasing
    for j, height in enumerate(heights):
        while waiting and heights[waiting[-1]] < height:
            i = waiting.pop()
            result[i] = j - i
        waiting.append(j)
    return result
