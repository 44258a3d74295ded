"""Processor-specific machinery of the kernels, off with ``TIKKUN_PORTABLE=1``.

Nothing here is part of the model: these modules change how fast the kernels run and never
what they compute (every path they open has a scalar twin that gives the same bits, tested).

* :mod:`.gather`: hand-written vector instructions (x86 AVX2 and AVX-512) for the warm
  network's row of eight edges and the soul pass's sparks and sums, used where the processor
  has them;
* :mod:`.prefetch`: a hint that asks the processor to start loading memory a kernel reads soon;
* :mod:`.kernel_cache`: Numba's cache of the compiled kernels, renewed whenever a source a
  kernel can be compiled from changes, and kept apart for the portable switch.

``TIKKUN_PORTABLE=1`` in the environment, read once when tikkun is imported, turns every
processor-specific path off: no hand-written vector instruction is used (:data:`.gather.HARDWARE`,
:data:`.gather.AVAILABLE`, :data:`.gather.AVX512` and :data:`.gather.AVX512_BW` are False) and
the prefetch emits nothing.
The kernels then run their scalar paths, which give the same bits. Unset, empty or ``0``
leaves the paths on where the processor has them; any other value is refused
(:mod:`.environment`, which checks the environment variables of Numba's threads too).
"""

from __future__ import annotations

import os

from . import environment

PORTABLE = environment.portable(os.environ)
