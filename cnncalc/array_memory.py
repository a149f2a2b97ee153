"""The bytes of numpy's array buffers alive during a run, counted as numpy allocates and frees them.

`verify` checks the predicted memory against the peak of live *arrays*. tracemalloc (the fallback
here) sees numpy's buffers, but it also traces every Python object, so the executor's own records
had to be subtracted by hand, and tracing each of them cost more than a small layer's forward
(~0.3 ms a layer). numpy (1.22+, NEP 49) lets a program choose the allocator of array buffers: the
`numpy allocator` meter installs one that calls numpy's own allocator and counts the requested
bytes, so only array data is counted (never Python bookkeeping) and the cost is paid per array, not
per Python object.

The handler also keeps large freed buffers for the run's next arrays of about their size (`BlockCache`):
a fresh buffer's pages are faulted in and zeroed by the kernel on first touch (0.15 to 3 seconds per GB
on the 2-core CI machine, with huge pages compacted), and a VGG-16 forward at batch 8 allocates ~3 GB of
im2col matrices, padded copies and outputs, most of them the size of one before. What is counted is
unchanged: the bytes of live arrays, as the program requests and frees them (a kept buffer is free).

The handler is a ctypes structure of four callbacks. Every array allocated through it keeps it (numpy
frees a buffer with the handler that allocated it), so it is made once per process and never
released. Blocks allocated before a meter started are not in its table: their frees do not touch
its count.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

#: the names `Execution.measured_by` and verify's output give each way of measuring
NUMPY_ALLOCATOR = "numpy allocator"
TRACEMALLOC = "tracemalloc"


class Counter:
    """Live and peak bytes of the array buffers allocated while `counting`; `blocks` maps each counted
    buffer's address to its size."""

    __slots__ = ("live", "peak", "counting", "blocks")

    def __init__(self):
        self.live = self.peak = 0
        self.counting = False
        self.blocks: dict[int, int] = {}

    def restart(self) -> None:
        """Count from zero; buffers counted before are forgotten (their frees no longer count)."""
        self.blocks.clear()
        self.live = self.peak = 0


class BlockCache:
    """Freed buffers of at least `SMALLEST` bytes, kept while `enabled` (during a run) for the next
    malloc of at most their size and at least half of it (the best fit); the oldest are released once
    the kept bytes pass twice the largest buffer kept (what the run holds beyond its live arrays).
    `lent` maps each buffer handed out again to its true size (numpy frees it with the size it asked)."""

    SMALLEST = 4 * 1024 * 1024

    __slots__ = ("enabled", "kept", "kept_bytes", "largest", "lent")

    def __init__(self):
        self.enabled = False
        self.kept: list[tuple[int, int]] = []  # (pointer, size), oldest first
        self.kept_bytes = self.largest = 0
        self.lent: dict[int, int] = {}

    def take(self, size: int) -> int:
        """A kept buffer for `size` bytes (removed from the kept ones), or 0."""
        best = None
        for index, (_, kept_size) in enumerate(self.kept):
            if size <= kept_size <= 2 * size and (best is None or kept_size < self.kept[best][1]):
                best = index
        if best is None:
            return 0
        pointer, kept_size = self.kept.pop(best)
        self.kept_bytes -= kept_size
        self.lent[pointer] = kept_size
        return pointer

    def keep(self, pointer: int, size: int, release) -> None:
        """Keep a freed buffer; `release(pointer, size)` frees those that no longer fit."""
        self.kept.append((pointer, size))
        self.kept_bytes += size
        self.largest = max(self.largest, size)
        while self.kept_bytes > 2 * self.largest:
            old, old_size = self.kept.pop(0)
            self.kept_bytes -= old_size
            release(old, old_size)

    def release_all(self, release) -> None:
        kept, self.kept = self.kept, []
        self.kept_bytes = self.largest = 0
        for pointer, size in kept:
            release(pointer, size)


def _callbacks(counter: Counter, default, cache: BlockCache):
    """The handler's four functions, each calling numpy's own (`default`) and counting around it; large
    buffers freed during a run are kept in `cache` for its next mallocs."""
    blocks = counter.blocks
    base_malloc, base_calloc = default.malloc, default.calloc
    base_realloc, base_free = default.realloc, default.free
    lent = cache.lent
    smallest = BlockCache.SMALLEST

    def added(pointer: int, size: int) -> None:
        blocks[pointer] = size
        live = counter.live + size
        counter.live = live
        if live > counter.peak:
            counter.peak = live

    def malloc(ctx, size):
        pointer = cache.take(size) if size >= smallest and cache.kept else 0
        if not pointer:
            pointer = base_malloc(ctx, size)
            if not pointer and cache.kept:  # out of memory: what is kept goes first
                cache.release_all(lambda kept, kept_size: base_free(ctx, kept, kept_size))
                pointer = base_malloc(ctx, size)
        if pointer and counter.counting:
            added(pointer, size)
        return pointer

    def calloc(ctx, count, size):  # (zeroed: never a kept buffer, whose pages are not)
        pointer = base_calloc(ctx, count, size)
        if not pointer and cache.kept:
            cache.release_all(lambda kept, kept_size: base_free(ctx, kept, kept_size))
            pointer = base_calloc(ctx, count, size)
        if pointer and counter.counting:
            added(pointer, count * size)
        return pointer

    def realloc(ctx, pointer, size):
        lent.pop(pointer, None)  # (a kept buffer is numpy's own malloc's: its realloc takes it)
        moved = base_realloc(ctx, pointer, size)
        if moved:
            old = blocks.pop(pointer, None)
            if old is not None:
                counter.live -= old
            if old is not None or counter.counting:
                added(moved, size)
        return moved

    def free(ctx, pointer, size):
        old = blocks.pop(pointer, None)
        if old is not None:
            counter.live -= old
        size = lent.pop(pointer, size)
        if size >= smallest and cache.enabled:
            cache.keep(pointer, size, lambda kept, kept_size: base_free(ctx, kept, kept_size))
        else:
            base_free(ctx, pointer, size)

    return malloc, calloc, realloc, free


class _Handler:
    """numpy's memory-handler C API reached through ctypes, and the counting handler installed with it."""

    def __init__(self):
        import ctypes

        try:
            from numpy._core import _multiarray_umath as umath  # numpy 2
        except ImportError:  # numpy 1.x
            from numpy.core import _multiarray_umath as umath
        capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        capsule_pointer.restype, capsule_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        new_capsule = ctypes.pythonapi.PyCapsule_New
        new_capsule.restype, new_capsule.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        api = ctypes.cast(capsule_pointer(umath._ARRAY_API, None), ctypes.POINTER(ctypes.c_void_p))
        # numpy's C API table: PyDataMem_SetHandler is entry 304, PyDataMem_GetHandler 305 (numpy 1.22 on)
        self.set_handler = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(api[304])
        get_handler = ctypes.PYFUNCTYPE(ctypes.py_object)(api[305])

        malloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
        calloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
        realloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
        free = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

        class Allocator(ctypes.Structure):  # PyDataMemAllocator
            _fields_ = [("ctx", ctypes.c_void_p), ("malloc", malloc), ("calloc", calloc), ("realloc", realloc),
                        ("free", free)]

        class Handler(ctypes.Structure):  # PyDataMem_Handler, version 1
            _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8), ("allocator", Allocator)]

        current = get_handler()
        if umath.get_handler_name() != "default_allocator":  # another program's handler: not ours to wrap
            raise RuntimeError(f"numpy's allocator is {umath.get_handler_name()!r}, not its default")
        default = Handler.from_address(capsule_pointer(current, b"mem_handler")).allocator
        # numpy's own functions are called with the GIL held: its calloc releases the GIL itself
        # (a CFUNCTYPE call would have released it already, and numpy's release would then abort)
        held = [ctypes.PYFUNCTYPE(kind._restype_, *kind._argtypes_) for kind in (malloc, calloc, realloc, free)]
        numpy_own = SimpleNamespace(**{name: ctypes.cast(getattr(default, name), kind) for name, kind in
                                       zip(("malloc", "calloc", "realloc", "free"), held)})
        self.counter = Counter()
        self.cache = BlockCache()
        self._release = lambda pointer, size: numpy_own.free(default.ctx, pointer, size)
        functions = _callbacks(self.counter, numpy_own, self.cache)
        wrapped = tuple(kind(f) for kind, f in zip((malloc, calloc, realloc, free), functions))
        self.struct = Handler(b"cnncalc_counting", 1, Allocator(default.ctx, *wrapped))
        self.capsule = new_capsule(ctypes.addressof(self.struct), b"mem_handler", None)
        # arrays keep the capsule, not these: held past the interpreter's module cleanup, so that an
        # array freed late still finds its handler's code
        self._kept = (self.struct, wrapped, functions, numpy_own, current)
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(self._kept))
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(self.capsule))
        self._check()

    def _check(self) -> None:
        """One array allocated and freed through the handler must be counted, then uncounted."""
        import numpy as np

        counter = self.counter
        with self.installed():
            counter.restart()
            counter.counting = True
            probe = np.empty(1000, dtype=np.uint8)
            counted = counter.live
            del probe
            counter.counting = False
        if counted != 1000 or counter.live != 0:
            raise RuntimeError(f"the counting allocator measured {counted} and {counter.live} bytes")

    @contextmanager
    def installed(self):
        previous = self.set_handler(self.capsule)
        try:
            yield self.counter
        finally:
            self.set_handler(previous)

    @contextmanager
    def caching(self):
        """Keep large freed buffers for the next arrays (`BlockCache`) inside the block; all released after
        (a run inside another's block keeps the outer one's cache)."""
        if self.cache.enabled:
            yield self.cache
            return
        self.cache.enabled = True
        try:
            yield self.cache
        finally:
            self.cache.enabled = False
            self.cache.release_all(self._release)


_HANDLER: list = []


def numpy_handler() -> _Handler | None:
    """The process's counting handler, made on first use; None where numpy or ctypes cannot provide it."""
    if not _HANDLER:
        try:
            _HANDLER.append(_Handler())
        except Exception:  # noqa: BLE001 (any failure means: measure with tracemalloc instead)
            _HANDLER.append(None)
    return _HANDLER[0]


class _Meter:
    """What every meter shares: `paused()` blocks are left out of the readings."""

    def pause(self) -> None:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError

    @contextmanager
    def paused(self):
        self.pause()
        try:
            yield
        finally:
            self.resume()


class ArrayMeter(_Meter):
    """Bytes of live arrays relative to the start of the run, through numpy's allocator.

    `current()` the bytes now, `read_peak()` the most since the last `reset_peak()`, `overall()` the
    most since the start; `paused()` leaves out the arrays a block allocates (copies for the caller).
    """

    measured_by = NUMPY_ALLOCATOR

    def __init__(self, handler: _Handler):
        self._installed = handler.installed()
        self._caching = handler.caching()
        self.counter = handler.counter
        self._overall = 0

    def start(self) -> None:
        self._installed.__enter__()
        self._caching.__enter__()
        self.counter.restart()
        self.counter.counting = True

    def current(self) -> int:
        return self.counter.live

    def read_peak(self) -> int:
        return self.counter.peak

    def reset_peak(self) -> None:
        counter = self.counter
        if counter.peak > self._overall:
            self._overall = counter.peak
        counter.peak = counter.live

    def overall(self) -> int:
        return max(self._overall, self.counter.peak)

    def held(self, nbytes: int) -> None:
        """Arrays allocated before the run that it holds throughout (given weights)."""
        counter = self.counter
        counter.live += nbytes
        counter.peak = max(counter.peak, counter.live)

    def discount(self, nbytes: int) -> None:
        """Only arrays are counted: there is no bookkeeping to take out."""

    def pause(self) -> None:
        self.counter.counting = False

    def resume(self) -> None:
        self.counter.counting = True

    def stop(self) -> int:
        peak = self.overall()
        self.counter.counting = False
        self._caching.__exit__(None, None, None)
        self._installed.__exit__(None, None, None)
        return peak


class TracemallocMeter(_Meter):
    """The same readings from tracemalloc, where numpy's allocator cannot be replaced. tracemalloc
    counts Python objects too: what `paused()` blocks allocate and keep, and each layer's `kept`
    records, are taken out of the base."""

    measured_by = TRACEMALLOC

    def __init__(self):
        import tracemalloc

        self._tm = tracemalloc
        self.base = self._overall = self._paused_at = 0
        self.started_here = False

    def start(self) -> None:
        self.started_here = not self._tm.is_tracing()
        if self.started_here:
            self._tm.start()
        self.base = self._tm.get_traced_memory()[0]

    def current(self) -> int:
        return self._tm.get_traced_memory()[0] - self.base

    def read_peak(self) -> int:
        return self._tm.get_traced_memory()[1] - self.base

    def reset_peak(self) -> None:
        self._overall = max(self._overall, self.read_peak())
        self._tm.reset_peak()

    def overall(self) -> int:
        return max(self._overall, self.read_peak())

    def held(self, nbytes: int) -> None:
        self.base -= nbytes

    def discount(self, nbytes: int) -> None:
        """Leave out `nbytes` the run keeps that are not arrays (the objects holding a layer's weights)."""
        self.base += max(nbytes, 0)

    def pause(self) -> None:
        self.reset_peak()
        self._paused_at = self._tm.get_traced_memory()[0]

    def resume(self) -> None:
        self.base += max(self._tm.get_traced_memory()[0] - self._paused_at, 0)
        self._tm.reset_peak()

    def stop(self) -> int:
        peak = self.overall()
        if self.started_here:
            self._tm.stop()
        return peak


class NoMeter:
    """All readings zero: the run is not measured."""

    measured_by = ""

    def start(self) -> None:
        pass

    def current(self) -> int:
        return 0

    read_peak = overall = current

    def reset_peak(self) -> None:
        pass

    def held(self, nbytes: int) -> None:
        pass

    discount = held

    def pause(self) -> None:
        pass

    resume = pause

    @contextmanager
    def paused(self):
        yield

    def stop(self) -> int:
        return 0


class CachingMeter(NoMeter):
    """All readings zero (the run is not measured), with the handler's `BlockCache` kept during the run:
    an unmeasured run (benchmarks/bench_executor.py) allocates as a measured one does."""

    def __init__(self, handler: _Handler):
        self._installed = handler.installed()
        self._caching = handler.caching()

    def start(self) -> None:
        self._installed.__enter__()
        self._caching.__enter__()

    def stop(self) -> int:
        self._caching.__exit__(None, None, None)
        self._installed.__exit__(None, None, None)
        return 0


def meter(measure: bool, prefer: str = NUMPY_ALLOCATOR):
    """A meter for one run: numpy's allocator where it can be counted, else tracemalloc; an unmeasured
    run still allocates through the handler (its cache of large buffers) where it can."""
    if not measure:
        handler = numpy_handler()
        return NoMeter() if handler is None or handler.cache.enabled else CachingMeter(handler)
    handler = numpy_handler() if prefer == NUMPY_ALLOCATOR else None
    if handler is None or handler.counter.counting:  # (a run inside a measured run: its count is the outer one's)
        return TracemallocMeter()
    return ArrayMeter(handler)
