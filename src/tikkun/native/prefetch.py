"""A hint that asks the processor to start loading memory a kernel will read soon.

The yearly passes stream through arrays far larger than the caches, and the warm network
reads its far neighbours' efforts at random. The hardware's own prefetcher follows streams,
but not far enough ahead of a loop that also computes, and cannot guess random reads; the
kernels therefore ask for the graph's rows, the far efforts, and the sparks' arrays some
distance ahead (the distances are constants beside each use; measured effects:
docs/performance.md). A prefetch changes no result, only when data arrive. With
``TIKKUN_PORTABLE=1`` (:mod:`tikkun.native`) it emits nothing.
"""

from __future__ import annotations

import llvmlite.binding as _llvm
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PORTABLE

# LLVM names its prefetch by the pointer type: opaque pointers from LLVM 15 on
_PREFETCH = "llvm.prefetch.p0" if _llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line holding ``array[index]`` (1-D, contiguous; ``index`` an integer
    inside the array), for reading, into every cache level. Returns nothing; does nothing
    with ``TIKKUN_PORTABLE=1``."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        if PORTABLE:
            return context.get_dummy_value()
        data = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=args[0]).data
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), _PREFETCH)
        address = builder.bitcast(builder.gep(data, [args[1]]), i8p)
        # read (0), keep in every cache level (3), data (1)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


if config.DISABLE_JIT:  # pure Python (NUMBA_DISABLE_JIT, as mutation testing runs the rules)
    def prefetch(array, index):  # noqa: F811
        """No cache to warm in pure Python: nothing to do (a prefetch changes no result)."""
        return None
