#!/usr/bin/python3
"""Print RFC 8785 number test cases for test_jcs.c, one per line.

Each line is "INPUT EXPECTED": INPUT is a JSON number and EXPECTED its
canonical form, or "-" when the client must reject it (subnormal or
infinite doubles, more than 40 significant digits). The expected form is
computed here from Python's float parsing (correctly rounded) and repr
(the shortest string that rounds back, the closest one when several
exist), laid out by ECMAScript Number::toString rules. The cases are the
IEEE 754 values of RFC 8785 appendix B, powers of ten, halfway values and
random doubles written with more digits than needed (fixed seed).
"""

import random
import struct

APPENDIX_B = [
    "0000000000000000", "8000000000000000", "7fefffffffffffff", "4340000000000000",
    "4430000000000000", "44b52d02c7e14af5", "44b52d02c7e14af6", "44b52d02c7e14af7",
    "444b1ae4d6e2ef4e", "444b1ae4d6e2ef4f", "444b1ae4d6e2ef50", "3eb0c6f7a0b5ed8c",
    "3eb0c6f7a0b5ed8d", "41b3de4355555553", "41b3de4355555554", "41b3de4355555555",
    "41b3de4355555556", "41b3de4355555557", "becbf647612f3696", "43143ff3c1cb0959",
]
MIN_NORMAL = 2.2250738585072014e-308


def es_number(x):
    """Return ECMAScript Number::toString of a finite double."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))
    mantissa, _, exp = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0").rstrip("0")
    if int_part == "0":
        point = -(len(frac_part) - len(frac_part.lstrip("0")))
    else:
        point = len(int_part)
    point += int(exp or 0)
    k, n = len(digits), point
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        e = n - 1
        body = digits[0]
        if k > 1:
            body += "." + digits[1:]
        body += "e%s%d" % ("+" if e >= 0 else "-", abs(e))
    return sign + body


def expected(text):
    x = float(text)
    if x != 0 and not MIN_NORMAL <= abs(x) < float("inf"):
        return "-"
    significant = text.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    if len(significant) > 40:
        return "-"
    return es_number(x)


def main():
    cases = []
    for hexval in APPENDIX_B:
        x = struct.unpack(">d", bytes.fromhex(hexval))[0]
        cases += [repr(x), "%.25e" % x, "%.17g" % x]
    for e in range(-310, 310, 7):
        cases += ["1e%d" % e, "-9.5e%d" % e, "123456789012345678e%d" % e]
    cases += ["9007199254740993", "9007199254740995", "0.1", "0.2", "0.30000000000000004",
              "5e-324", "1e-320", "1.7976931348623158e308", "1.7976931348623159e308", "2e308",
              "2.2250738585072011e-308", "2.2250738585072014e-308",
              "1234567890123456789012345678901234567890", "12345678901234567890123456789012345678901"]
    rng = random.Random(8785)
    for _ in range(3000):
        bits = rng.getrandbits(64)
        x = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
        if x != x or x in (float("inf"), float("-inf")):
            continue
        digits = rng.choice([17, 20, 25, 30, 39])
        cases.append(("%." + str(digits - 1) + "e") % x)
        cases.append(repr(x))
    for text in cases:
        print(text, expected(text))


if __name__ == "__main__":
    main()
