def check_digit(code: str) -> int:
    digits = [int(ch) for ch in code if ch.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        total += digit * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10
