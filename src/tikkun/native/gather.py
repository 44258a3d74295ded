"""Hand-written vector instructions for four inner steps of the kernels (x86 AVX2, AVX-512).

Used when Numba compiles for this machine's processor, that processor has the instruction,
and ``TIKKUN_PORTABLE`` is not set (:mod:`tikkun.native`); everywhere else the kernels
take their scalar paths, which give the same bits (each intrinsic is tested against its
scalar twin). Why they exist: each replaces eight dependent scalar steps of a hot loop by one
or two vector instructions (measured effects: docs/performance.md).

* :func:`edge_sum8`, the warm network's row of eight edges, ``sum_q P_iq (e_m - e0_i)`` in the
  fixed tree ``((01 + 23) + (45 + 67))`` (:mod:`tikkun.rules.network`): the row's neighbours and
  weights are one load each, the efforts one hardware gather (``vgatherdps``), and the tree is
  the vector's pairwise sums, lanes (0, 1), (2, 3), (4, 5), (6, 7), then their pairs, then the
  two halves. Float addition is commutative, so this is the same tree and the same bits. Used
  only where the gather is fast (:data:`AVAILABLE`): not where the microcode that mitigates
  Gather Data Sampling slows it, nor on AMD's Zen cores up to Zen 4, whose gather of eight
  lanes is slower than the eight loads it replaces.
* :func:`light_of_eight`, each of eight sparks given its soul's light: eight sparks belong to
  at most eight consecutive souls, so their lights are one load of eight souls' lights and one
  permutation of its lanes (``vpermps``). Only values are copied.
* :func:`open_of_eight`, the positions of the sparks of open souls among eight
  (AVX-512 ``vpcompressd``), so that the souls' sums can skip complete souls' sparks.
* :func:`sums_of_eight`, the sums and flags of eight souls at once, a lane a soul, rank by
  rank (each soul's first sparks, then its second, ...): every lane adds its own soul's sparks
  in spark order, as the scalar loop does, so the bits are the same; a rank's eight sparks are
  picked from the group's 64 sparks in registers by permutations (``vpermi2ps``); the flags
  by bit masks (AVX-512 BW). :func:`sums_of_eight_gathered` is the same with AVX2 alone: a
  rank's eight sparks are one masked hardware gather (``vgatherdps``). Even where a gather is
  slower than the eight loads it replaces (AMD's Zen), it is faster than the scalar sums, whose
  additions wait on each other through memory; it is not used where a mitigation slows the
  gather (:data:`GATHERED_SUMS`).
"""

from __future__ import annotations

import platform
from pathlib import Path

import llvmlite.binding as _llvm
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PORTABLE


# Linux reports here whether the processor's gathers are slowed by the microcode that mitigates
# "Gather Data Sampling" (Intel, 6th to 11th generation cores): there, a gather costs more than
# the scalar loads it replaces.
_GATHER_DATA_SAMPLING = Path("/sys/devices/system/cpu/vulnerabilities/gather_data_sampling")


def _host_has(*features: str) -> bool:
    """True if Numba compiles for this machine's processor, an x86-64 with all ``features``."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if config.CPU_NAME not in (None, "host") or (
            config.CPU_FEATURES and not all("+" + f in config.CPU_FEATURES for f in features)):
        return False  # compiling for another processor (a portable cache): no assumption
    try:
        host = _llvm.get_host_cpu_features()
        return all(bool(host.get(f, False)) for f in features)
    except RuntimeError:  # features unknown to LLVM on this host
        return False


def _gather_here() -> bool:
    """True if Numba compiles for this machine's processor and that processor has AVX2."""
    return _host_has("avx2")


# Processors, as LLVM names them, whose gathers are slower than scalar loads: AMD's Zen 1 to 4
# carry out a gather as a long sequence of micro-operations (measured on Zen 4: the warm
# network faster without it, docs/performance.md). Zen 5 is not measured.
_SLOW_GATHER_CPUS = ("znver1", "znver2", "znver3", "znver4")


def _gather_mitigated() -> bool:
    """True where the system says that a mitigation slows the processor's gathers."""
    try:
        return "mitigation" in _GATHER_DATA_SAMPLING.read_text().lower()
    except OSError:  # not Linux, or an older kernel: nothing reported
        return False


def _gather_slowed() -> bool:
    """True where the processor's gathers cost more than the loads they replace: where the
    system says that a mitigation slows them, or on a processor of :data:`_SLOW_GATHER_CPUS`."""
    try:
        if _llvm.get_host_cpu_name() in _SLOW_GATHER_CPUS:
            return True
    except RuntimeError:
        pass
    return _gather_mitigated()


# Intrinsics exist only in compiled code: with NUMBA_DISABLE_JIT (pure Python, as mutation
# testing runs the rules) the kernels take their scalar paths, which give the same bits.
HARDWARE = not PORTABLE and not config.DISABLE_JIT and _gather_here()  # AVX2 can run here: the gather and the permutation
AVAILABLE = HARDWARE and not _gather_slowed()  # ... and the gather is fast: the network uses it
AVX512 = HARDWARE and _host_has("avx512f", "avx512vl")  # :func:`open_of_eight` can run here
AVX512_BW = AVX512 and _host_has("avx512bw")  # :func:`sums_of_eight` can run here
GATHERED_SUMS = HARDWARE and not _gather_mitigated()  # :func:`sums_of_eight_gathered` pays here (tested on Zen 3)
FLAG_BITS = 2  # the low bits of a spark's flag that :func:`sums_of_eight` ORs (the growth loop sets no other)


def _flat(a, dtype) -> bool:
    """True for a 1-D C-contiguous array of ``dtype``: the intrinsics read and write whole vectors
    straight from an array's memory."""
    return isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" and a.dtype == dtype


def _data(context, builder, signature, args, k):
    """The data pointer of array argument ``k`` of an intrinsic's call."""
    return cgutils.create_struct_proxy(signature.args[k])(context, builder, value=args[k]).data


@intrinsic
def edge_sum8(typingctx, rows, weights, effort, j, e0):
    """``sum_q weights[j + q] * (effort[rows[j + q]] - e0)`` for ``q = 0..7`` in the tree
    ``((01 + 23) + (45 + 67))``, float32.

    rows: int32 ``(n k,)``, the raveled graph; weights: float32 ``(n k,)``, its raveled
    weights; effort: float32 ``(n,)`` (all three C-contiguous); j: unsigned integer, the row's first
    edge; e0: float32.
    Runs only where :data:`HARDWARE` (x86 with AVX2); the row's indices must lie inside ``effort``.
    """
    ok = (_flat(rows, types.int32) and _flat(weights, types.float32) and _flat(effort, types.float32)
          and isinstance(j, types.Integer) and e0 == types.float32)
    if not ok:
        return None
    sig = types.float32(rows, weights, effort, j, e0)

    def codegen(context, builder, signature, args):
        def data(k):
            return _data(context, builder, signature, args, k)

        f32, i32, i8 = ir.FloatType(), ir.IntType(32), ir.IntType(8)
        v8f, v8i = ir.VectorType(f32, 8), ir.VectorType(i32, 8)
        first = args[3]
        neighbours = builder.load(builder.bitcast(builder.gep(data(0), [first]), v8i.as_pointer()), align=4)
        weight = builder.load(builder.bitcast(builder.gep(data(1), [first]), v8f.as_pointer()), align=4)
        gather = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(v8f, [v8f, i8.as_pointer(), v8i, v8f, i8]),
            "llvm.x86.avx2.gather.d.ps.256")
        every_lane = builder.bitcast(ir.Constant(v8i, [-1] * 8), v8f)  # the mask: sign bit of each lane
        theirs = builder.call(gather, [ir.Constant(v8f, [0.0] * 8), builder.bitcast(data(2), i8.as_pointer()),
                                       neighbours, every_lane, ir.Constant(i8, 4)])
        own = builder.insert_element(ir.Constant(v8f, ir.Undefined), args[4], ir.Constant(i32, 0))
        own = builder.shuffle_vector(own, own, ir.Constant(v8i, [0] * 8))
        terms = builder.fmul(weight, builder.fsub(theirs, own))

        def pairwise(v, width):  # lanes (0, 1), (2, 3), ... added: half as many lanes
            kind = ir.VectorType(i32, width // 2)
            even = builder.shuffle_vector(v, v, ir.Constant(kind, list(range(0, width, 2))))
            odd = builder.shuffle_vector(v, v, ir.Constant(kind, list(range(1, width, 2))))
            return builder.fadd(even, odd)

        halves = pairwise(pairwise(terms, 8), 4)  # (01 + 23), (45 + 67)
        return builder.fadd(builder.extract_element(halves, ir.Constant(i32, 0)),
                            builder.extract_element(halves, ir.Constant(i32, 1)))

    return sig, codegen


@intrinsic
def light_of_eight(typingctx, ell, owner, j, out):
    """``out[j + q] = ell[owner[j + q]]`` for ``q = 0..7``, with one load and one permutation.

    ell: float32 ``(n,)``, the souls' light; owner: uint16 ``(m,)``, each spark's soul; out:
    float32 ``(m,)`` (all three 1-D and contiguous); j: unsigned integer. The caller must know
    that ``owner[j + 7] - owner[j] < 8`` (so the lanes' souls are ``owner[j] + 0..7``) and that
    ``owner[j] + 8 <= n`` (the load of eight souls stays inside ``ell``).
    Runs only where :data:`HARDWARE` (x86 with AVX2).
    """
    if not (_flat(ell, types.float32) and _flat(owner, types.uint16) and _flat(out, types.float32)
            and isinstance(j, types.Integer)):
        return None
    sig = types.void(ell, owner, j, out)

    def codegen(context, builder, signature, args):
        def data(k):
            return _data(context, builder, signature, args, k)

        f32, i16, i32, i64 = ir.FloatType(), ir.IntType(16), ir.IntType(32), ir.IntType(64)
        v8f, v8i, v8s = ir.VectorType(f32, 8), ir.VectorType(i32, 8), ir.VectorType(i16, 8)
        first = args[2]
        souls = builder.load(builder.bitcast(builder.gep(data(1), [first]), v8s.as_pointer()), align=2)
        souls = builder.zext(souls, v8i)
        base = builder.extract_element(souls, ir.Constant(i32, 0))
        bases = builder.insert_element(ir.Constant(v8i, ir.Undefined), base, ir.Constant(i32, 0))
        bases = builder.shuffle_vector(bases, bases, ir.Constant(v8i, [0] * 8))
        lane = builder.sub(souls, bases)  # 0..7: which of the eight souls each spark belongs to
        lights = builder.load(builder.bitcast(builder.gep(data(0), [builder.zext(base, i64)]), v8f.as_pointer()),
                              align=4)
        permute = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8f, [v8f, v8i]),
                                                 "llvm.x86.avx2.permps")
        builder.store(builder.call(permute, [lights, lane]),
                      builder.bitcast(builder.gep(data(3), [first]), v8f.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def open_of_eight(typingctx, light, j, idx, k):
    """Sparks ``j .. j+7`` of a chunk: a set sign bit of ``light[j + q]`` marks a spark of a complete
    soul. Clears the eight signs in place, writes the positions ``j + q`` of the other sparks, in
    order, to ``idx[k:]``, and returns ``k`` plus their number (int64).

    light: float32 ``(w,)``, the sparks' light (C-contiguous); idx: int32, at least ``k + 8``
    long (all eight lanes are stored; those past the count are overwritten next); j, k: int64.
    Runs only where :data:`AVX512` (``vpcompressd`` on eight 32-bit lanes).
    """
    if not (_flat(light, types.float32) and _flat(idx, types.int32) and isinstance(j, types.Integer)
            and isinstance(k, types.Integer)):
        return None
    sig = types.int64(light, types.int64, idx, types.int64)

    def codegen(context, builder, signature, args):
        def data(k):
            return _data(context, builder, signature, args, k)

        i1, i8, i32, i64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
        v8i, v8b = ir.VectorType(i32, 8), ir.VectorType(i1, 8)
        first, count = args[1], args[3]
        lanes = builder.bitcast(builder.gep(data(0), [first]), v8i.as_pointer())
        bits = builder.load(lanes, align=4)
        kept = builder.icmp_signed(">=", bits, ir.Constant(v8i, [0] * 8))  # sign clear: an open soul's spark
        builder.store(builder.and_(bits, ir.Constant(v8i, [0x7FFFFFFF] * 8)), lanes, align=4)
        at = builder.insert_element(ir.Constant(v8i, ir.Undefined), builder.trunc(first, i32), ir.Constant(i32, 0))
        at = builder.add(builder.shuffle_vector(at, at, ir.Constant(v8i, [0] * 8)), ir.Constant(v8i, list(range(8))))
        compress = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8i, [v8i, v8i, v8b]),
                                                  "llvm.x86.avx512.mask.compress.v8i32")
        packed = builder.call(compress, [at, ir.Constant(v8i, [0] * 8), kept])
        builder.store(packed, builder.bitcast(builder.gep(data(2), [count]), v8i.as_pointer()), align=4)
        popcount = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i8, [i8]), "llvm.ctpop.i8")
        return builder.add(count, builder.zext(builder.call(popcount, [builder.bitcast(kept, i8)]), i64))

    return sig, codegen


def _sums_of_eight(gathered: bool):
    """The typing and code of :func:`sums_of_eight` (``gathered`` False: AVX-512 BW's permutations)
    and :func:`sums_of_eight_gathered` (True: AVX2's gathers); the same bits."""

    def typer(typingctx, screen, run_flag, jlo, spark_start, complete, total, flags, i, t):
        if not (_flat(screen, types.float32) and _flat(run_flag, types.uint8) and _flat(spark_start, types.int64)
                and _flat(complete, types.uint8) and _flat(total, types.float64) and _flat(flags, types.uint8)
                and isinstance(jlo, types.Integer) and isinstance(i, types.Integer) and isinstance(t, types.Integer)):
            return None
        sig = types.void(screen, run_flag, types.int64, spark_start, complete, total, flags, types.int64, types.int64)

        def codegen(context, builder, signature, args):
            def data(k):
                return _data(context, builder, signature, args, k)

            f32, f64, i8, i32, i64 = ir.FloatType(), ir.DoubleType(), ir.IntType(8), ir.IntType(32), ir.IntType(64)
            v8i, v16i, v8l = ir.VectorType(i32, 8), ir.VectorType(i32, 16), ir.VectorType(i64, 8)
            v8f, v16f, v8d = ir.VectorType(f32, 8), ir.VectorType(f32, 16), ir.VectorType(f64, 8)
            v8b, v64b = ir.VectorType(i8, 8), ir.VectorType(i8, 64)
            first, soul, lane0 = args[2], args[7], args[8]

            def splat(x, kind, n):
                v = builder.insert_element(ir.Constant(kind, ir.Undefined), x, ir.Constant(i32, 0))
                return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, n), [0] * n))

            def load(k, at, kind, align):
                return builder.load(builder.bitcast(builder.gep(data(k), [at]), kind.as_pointer()), align=align)

            starts = load(3, soul, v8l, 8)
            ends = load(3, builder.add(soul, ir.Constant(i64, 1)), v8l, 8)
            base = builder.extract_element(starts, ir.Constant(i32, 0))
            rel = builder.trunc(builder.sub(starts, splat(base, v8l, 8)), v8i)  # 0..63: each soul's first spark
            done = builder.icmp_unsigned("!=", load(4, soul, v8b, 1), ir.Constant(v8b, [0] * 8))
            counts = builder.select(done, ir.Constant(v8i, [0] * 8), builder.trunc(builder.sub(ends, starts), v8i))
            rel_end = builder.add(rel, counts)  # past each open soul's last spark (its first for a complete one)
            umax = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [v8i]),
                                                  "llvm.vector.reduce.umax.v8i32")
            ranks = builder.call(umax, [counts])
            # the flags: for each of the two bits, the group's 64 sparks as the bits of one integer,
            # and each soul's sparks as a mask of consecutive bits ((2**count - 1) << first)
            flag_table = load(1, builder.sub(base, first), v64b, 1)
            rel64, counts64 = builder.zext(rel, v8l), builder.zext(counts, v8l)
            shift = builder.and_(builder.sub(ir.Constant(v8l, [64] * 8), counts64), ir.Constant(v8l, [63] * 8))
            ones = builder.lshr(ir.Constant(v8l, [-1] * 8), shift)
            mine = builder.select(builder.icmp_unsigned("==", counts64, ir.Constant(v8l, [0] * 8)),
                                  ir.Constant(v8l, [0] * 8), builder.shl(ones, rel64))
            ors = ir.Constant(v8b, [0] * 8)
            for bit in range(FLAG_BITS):
                marked = builder.icmp_unsigned("!=", builder.and_(flag_table, ir.Constant(v64b, [1 << bit] * 64)),
                                               ir.Constant(v64b, [0] * 64))
                sparks = builder.bitcast(marked, i64)  # bit p: the group's spark p has the flag
                hit = builder.icmp_unsigned("!=", builder.and_(mine, splat(sparks, v8l, 8)), ir.Constant(v8l, [0] * 8))
                ors = builder.or_(ors, builder.shl(builder.zext(hit, v8b), ir.Constant(v8b, [bit] * 8)))
            at = builder.gep(data(0), [base])
            if gathered:
                gather = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(v8f, [v8f, i8.as_pointer(), v8i, v8f, i8]),
                    "llvm.x86.avx2.gather.d.ps.256")
            else:  # the group's 64 screens in four registers
                quarter = [builder.load(builder.bitcast(builder.gep(at, [ir.Constant(i64, 16 * h)]), v16f.as_pointer()),
                                        align=4) for h in range(4)]
                perm = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v16f, [v16f, v16i, v16f]),
                                                      "llvm.x86.avx512.vpermi2var.ps.512")
            idx16_first = builder.shuffle_vector(rel, rel, ir.Constant(v16i, list(range(8)) * 2))
            entry = builder.block
            loop = builder.append_basic_block("ranks")
            after = builder.append_basic_block("ranks_done")
            builder.cbranch(builder.icmp_unsigned(">", ranks, ir.Constant(i32, 0)), loop, after)
            builder.position_at_end(loop)
            q = builder.phi(i32)
            acc = builder.phi(v8d)
            idx16 = builder.phi(v16i)  # each lane's spark of this rank (0..63) in both halves, one more a rank
            pick8 = ir.Constant(v8i, list(range(8)))
            idx = builder.shuffle_vector(idx16, idx16, pick8)
            live = builder.icmp_unsigned("<", idx, rel_end)
            if gathered:  # lanes past their soul's last spark are masked: nothing read for them
                rank = builder.call(gather, [ir.Constant(v8f, [0.0] * 8), builder.bitcast(at, i8.as_pointer()), idx,
                                             builder.bitcast(builder.sext(live, v8i), v8f), ir.Constant(i8, 4)])
            else:
                low = builder.call(perm, [quarter[0], idx16, quarter[1]])  # from places 0..31 (index bits 0-4)
                high = builder.call(perm, [quarter[2], idx16, quarter[3]])  # from places 32..63
                upper = builder.icmp_unsigned(">=", idx, ir.Constant(v8i, [32] * 8))
                rank = builder.select(upper, builder.shuffle_vector(high, high, pick8),
                                      builder.shuffle_vector(low, low, pick8))
            acc_next = builder.select(live, builder.fadd(acc, builder.fpext(rank, v8d)), acc)
            q_next = builder.add(q, ir.Constant(i32, 1))
            q.add_incoming(ir.Constant(i32, 0), entry)
            q.add_incoming(q_next, loop)
            acc.add_incoming(ir.Constant(v8d, [0.0] * 8), entry)
            acc.add_incoming(acc_next, loop)
            idx16.add_incoming(idx16_first, entry)
            idx16.add_incoming(builder.add(idx16, ir.Constant(v16i, [1] * 16)), loop)
            builder.cbranch(builder.icmp_unsigned("<", q_next, ranks), loop, after)
            builder.position_at_end(after)
            sums = builder.phi(v8d)
            sums.add_incoming(ir.Constant(v8d, [0.0] * 8), entry)
            sums.add_incoming(acc_next, loop)
            builder.store(sums, builder.bitcast(builder.gep(data(5), [lane0]), v8d.as_pointer()), align=8)
            builder.store(ors, builder.bitcast(builder.gep(data(6), [lane0]), v8b.as_pointer()), align=1)
            return context.get_dummy_value()

        return sig, codegen

    return typer


@intrinsic
def sums_of_eight(typingctx, screen, run_flag, jlo, spark_start, complete, total, flags, i, t):
    """The sums of souls ``i .. i+7`` into ``total[t .. t+7]`` (float64: ``0.0 + s_0 + s_1 + ...``
    in spark order, each float32 screen widened) and the OR of their sparks' flags into
    ``flags[t .. t+7]`` (uint8); a complete soul (``complete`` nonzero) gets 0.0 and 0.

    screen: float32 ``(m,)``, every spark; run_flag: uint8, the flags of a run's sparks from
    spark ``jlo`` (int64) on; spark_start: int64 ``(n + 1,)``; complete: uint8 ``(n,)``; total,
    flags: a block's scratch; i, t: int64. Eight souls' sparks lie in at most 64 consecutive
    places, so the screens are four vector loads and a rank's eight screens two permutations of
    them and a blend, the lanes' places one vector that each rank moves on by one; each lane's
    running sum stays in a register for as many ranks as the group's largest open soul has
    sparks. The flags are made without the ranks: for each of their :data:`FLAG_BITS` low bits,
    the group's 64 flags as the bits of one integer, and a soul has the bit where that integer
    shares one with its sparks' mask of consecutive bits. The caller must know
    that the group's sparks number at most 64 and that 64 values from its first spark can be
    read in ``screen`` and in ``run_flag`` (those past the group are never used).
    Runs only where :data:`AVX512_BW`.
    """
    return _sums_of_eight(False)(typingctx, screen, run_flag, jlo, spark_start, complete, total, flags, i, t)


@intrinsic
def sums_of_eight_gathered(typingctx, screen, run_flag, jlo, spark_start, complete, total, flags, i, t):
    """:func:`sums_of_eight` with AVX2 alone: a rank's eight screens are one hardware gather
    (``vgatherdps``) whose lanes past their soul's last spark are masked, not two permutations
    of the group's 64 screens; the same bits, the same arguments and conditions (64 flags read
    from the group's first spark). Runs only where :data:`HARDWARE`; the kernels use it where
    :data:`GATHERED_SUMS` and not :data:`AVX512_BW`.
    """
    return _sums_of_eight(True)(typingctx, screen, run_flag, jlo, spark_start, complete, total, flags, i, t)
