def nesting_depth(packing: str) -> int:
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    deepest = 0
    for ch in packing:
        if ch in "([{":
            stack.append(ch)
            deepest = max(deepest, len(stack))
        elif ch in closing:
            if not stack or stack.pop() != closing[ch]:
                return -1
    return -1 if stack else deepest
