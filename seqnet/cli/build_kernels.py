"""`seqnet-build-kernels`: compile the fused CPU kernel ahead, so no training run pauses for it.

seqnet-build-kernels            # the build for this CPU (what training loads)
seqnet-build-kernels --all      # every build this CPU can run (a cache shared with older nodes)
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    """Console script `seqnet-build-kernels`: exit status 1 where the kernel cannot be built."""
    parser = argparse.ArgumentParser(prog="seqnet-build-kernels", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all", action="store_true", help="every build this CPU can run, not only the widest"
    )
    args = parser.parse_args()
    from torch.utils import cpp_extension

    from seqnet.nn import fused

    isas = fused.runnable_builds() if args.all else [fused.instruction_set()]
    for isa in isas:
        try:
            fused.build(isa)
        except (OSError, RuntimeError, ImportError) as error:
            print(f"seqnet-build-kernels: error: the {isa} build failed: {error}", file=sys.stderr)
            raise SystemExit(1) from None
        place = cpp_extension._get_build_directory(fused.build_name(isa), verbose=False)
        print(f"{fused.build_name(isa)}: ready in {place}")
