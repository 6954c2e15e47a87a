def ways_to_pay(amount: int, coins: list[int]) -> int:
    ways = [1] + [0] * amount  # ways[a]: ways to pay a with the coin values seen so far
    for coin in coins:
        for a in range(coin, amount + 1):
            ways[a] += ways[a - coin]
    return ways[amount]
