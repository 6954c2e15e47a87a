def sum_of_evens(numbers: list[int]) -> int:
    return sum(n for n in numbers if n % 2 == 0)
