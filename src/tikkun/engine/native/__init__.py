"""Processor-specific machinery of the kernels.

Nothing here is part of the model: these modules change how fast the kernels run and never
what they compute (every path they open has a scalar twin that gives the same bits, tested).

* :mod:`.gather`: hand-written vector instructions (x86 AVX2 and AVX-512) for the warm
  network's row of eight edges and the soul pass's sparks, used where the processor has them;
* :mod:`.prefetch`: a hint that asks the processor to start loading memory a kernel reads soon;
* :mod:`.kernel_cache`: Numba's cache of the compiled kernels, renewed whenever a source a
  kernel can be compiled from changes.
"""
