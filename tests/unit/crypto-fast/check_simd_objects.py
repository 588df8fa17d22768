#!/usr/bin/python3
"""Check the SIMD crypto objects of arch/x86_64 for stack hygiene and
instruction encoding.

Three rules, checked on the built static libraries:
  1. Only the worker functions (WORKERS below) store vector registers to
     the stack. Their callers clear TB_SIMD_STACK_WIPE_BYTES below the
     stack pointer after they return (tb_simd_wipe_stack_below()).
  2. Each object's static frames (from -fstack-usage .su files) add up to
     less than TB_SIMD_STACK_WIPE_BYTES minus a return address, so the
     wipe covers every frame a worker and its callees can use.
  3. The AES-NI tier library contains no VEX-encoded instruction, so it
     runs where the OS enabled SSE but not AVX (no XSAVE / XCR0 setup).

usage: check_simd_objects.py SIMD_CLEAR_H SU_DIR SSE_LIBRARY AVX2_LIBRARY
"""
import pathlib
import re
import subprocess
import sys

WORKERS = {"gcm_crypt", "cbc_decrypt"}
# AT&T syntax: a vector register source and a stack destination, whatever
# the instruction (MOVAPS, VMOVDQU, VEXTRACTI128, PEXTRQ...).
STACK_STORE = re.compile(r"%[xy]mm\d+,\s*-?(0x[0-9a-f]+)?\(%r[sb]p[,)]")


def wipe_bytes(header):
    text = pathlib.Path(header).read_text()
    match = re.search(r"#define TB_SIMD_STACK_WIPE_BYTES (\d+)", text)
    if match is None:
        sys.exit(f"TB_SIMD_STACK_WIPE_BYTES not found in {header}")
    return int(match.group(1))


def vector_stack_stores(library):
    """Map function name -> number of vector-register stores to the stack."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", library],
                         check=True, capture_output=True, text=True).stdout
    stores = {}
    function = None
    for line in out.splitlines():
        header = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if header:
            function = header.group(1)
            continue
        if function and STACK_STORE.search(line):
            stores[function] = stores.get(function, 0) + 1
    return stores


def vex_instructions(library):
    """Count VEX-encoded vector instructions (mnemonics starting with v)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", library],
                         check=True, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines()
               if re.search(r"^\s*[0-9a-f]+:\s+v\w+\s.*%[xy]mm", line))


def frame_sums(su_dir):
    """Map .su file name -> sum of its static frame sizes."""
    sums = {}
    for su in pathlib.Path(su_dir).rglob("*.su"):
        total = 0
        for line in su.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                total += int(fields[1])
        sums[su.name] = total
    return sums


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    limit = wipe_bytes(sys.argv[1])
    failed = False

    for library in sys.argv[3:]:
        for function, count in sorted(vector_stack_stores(library).items()):
            if function not in WORKERS:
                print(f"FAIL {library}: {function} stores vector registers "
                      f"to the stack {count} times but its frame is not "
                      f"wiped")
                failed = True
            else:
                print(f"ok   {pathlib.Path(library).name}: {function} "
                      f"spills {count} times (frame wiped by its caller)")

    vex = vex_instructions(sys.argv[3])
    if vex:
        print(f"FAIL {sys.argv[3]}: {vex} VEX-encoded instructions in the "
              f"legacy-SSE tier")
        failed = True
    else:
        print(f"ok   {pathlib.Path(sys.argv[3]).name}: no VEX-encoded "
              f"instruction")

    sums = frame_sums(sys.argv[2])
    if not sums:
        print(f"FAIL no .su files under {sys.argv[2]}")
        failed = True
    for name, total in sorted(sums.items()):
        if total + 8 > limit:
            print(f"FAIL {name}: frames add up to {total} bytes, more than "
                  f"the {limit}-byte wipe")
            failed = True
        else:
            print(f"ok   {name}: frames add up to {total} bytes "
                  f"(wipe {limit})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
