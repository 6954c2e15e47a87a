def stock_after(log: list[str]) -> dict[str, int]:
    stock: dict[str, int] = {}
    for line in log:
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        command = words[0].upper()
        if command == "IN":
            item, qty = words[1], int(words[2])
            stock[item] = stock.get(item, 0) + qty
        elif command == "OUT":
            item, qty = words[1], int(words[2])
            stock[item] = max(stock.get(item, 0) - qty, 0)
        elif command == "MOVE":
            old, new = words[1], words[2]
            if old != new:
                stock[new] = stock.get(new, 0) + stock.pop(old, 0)
    return {item: qty for item, qty in stock.items() if qty > 0}
