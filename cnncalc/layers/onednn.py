"""Transient CPU memory of PyTorch's convolution kernels (oneDNN v3, and the native im2col path).

These are the bytes a convolution holds only while it runs: blocked copies of its tensors and the
kernels' scratchpads. They are a few KiB to a few MiB, invisible next to a real network's activations
but most of the peak of the seeds' toy networks. Every rule below was read off the allocation trace of
torch.profiler (docs/memory.md, "CPU kernel scratch") on AVX2 machines at 1 to 8 threads; the CPU
they describe (instruction set, threads) is a parameter, `cnncalc.cpu.Cpu`, never this machine's.

oneDNN computes in blocked layouts whose channel blocks hold 8 values on AVX2 (16 on AVX-512), so
a tensor with C channels takes room for ceil(C/8)*8. A forward reorders the input (unless its few
channels can be read as they are), the weight and writes a blocked output that is then copied into
PyTorch's tensor. The backward does the same for the output gradient, the input gradient and the
weight gradient, and sums the threads' partial weight gradients in a reduction scratchpad when
there is too little work to split otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from math import prod

from cnncalc.cpu import BLOCK_OF_ISA, Cpu
from cnncalc.layers.base import MemoryContext, MemoryRule
from cnncalc.records import dataclass

#: input-channel blocks one job of the 1x1 weight-gradient kernel takes
POINTWISE_JOB_BLOCKS = 8
#: oneDNN aligns each reduction buffer of its scratchpad to pages of this size
PAGE = 4096
#: scratchpad entries are aligned to this many bytes
LINE = 128
#: the scratchpad of the strided input-gradient kernel in every small trace, and when the
#: stride does not divide the input
#: (fixed bytes, bytes per thread), measured at 1, 2, 4 and 8 threads
STRIDED_GRADIENT_FLOOR = (12_288, 24_600)
STRIDED_GRADIENT_FLOOR_UNEVEN = (16_400, 40_984)
#: the largest reduction buffer oneDNN's direct kernel lets its balancer plan for (2 MiB of floats)
REDUCER_BUFFER = 1 << 21
#: PyTorch sends a convolution of one small sample through its own im2col kernel instead (see
#: `use_mkldnn` in aten/src/ATen/native/Convolution.cpp): fewer input elements than this
NATIVE_LIMIT = 20480


def padded(channels: int, block: int = 8) -> int:
    return -(-channels // block) * block


@dataclass(frozen=True, slots=True)
class ConvCase:
    """One convolution as the kernels see it: the batch and sizes in elements, `item` bytes each."""

    batch: int
    in_channels: int
    filters: int
    groups: int
    kernel: tuple[int, ...]
    in_spatial: int
    out_spatial: int
    bias: bool
    item: int
    stride: tuple[int, ...] = (1,)
    #: the input's spatial axes (the strided 1x1 kernel needs each divisible by its stride)
    in_axes: tuple[int, ...] = ()
    out_axes: tuple[int, ...] = ()
    #: which kernel runs, when decided by another layer (a transposed convolution's input)
    onednn: bool | None = None
    cpu: Cpu = Cpu()

    @property
    def block(self) -> int:
        """`cpu.block`, read from the table itself: the model asks it ~17 times a convolution, and each
        property is a Python call."""
        return BLOCK_OF_ISA.get(self.cpu.isa, 8)

    @property
    def threads(self) -> int:
        return self.cpu.threads

    def pad(self, channels: int) -> int:
        return padded(channels, self.block)

    @property
    def taps(self) -> int:
        return prod(self.kernel)

    @property
    def pointwise(self) -> bool:
        """Whether oneDNN's 1x1 kernel runs: one tap, one group, and an input that its stride
        divides (otherwise the direct kernel does)."""
        return self.taps == 1 and self.groups == 1 and self.divisible()

    @property
    def strided(self) -> bool:
        return max(self.stride) > 1

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels == self.filters

    def uses_onednn(self) -> bool:
        """PyTorch's `use_mkldnn` test for float CPU convolutions (aten/src/ATen/native/Convolution.cpp):
        on one thread a 1x1 unstrided kernel over fewer than 16 samples runs natively, "THNN is
        faster when single-threaded"."""
        if self.onednn is not None:
            return self.onednn
        if self.threads == 1 and self.taps == 1 and not self.strided and self.batch < 16:
            return False
        large_kernel = max(self.kernel) > 3 and len(self.kernel) > 1
        return self.groups > 1 or large_kernel or self.batch > 1 or self.batch * self.input_elements > NATIVE_LIMIT

    @property
    def input_elements(self) -> int:
        return self.in_channels * self.in_spatial

    # -- tensor sizes in bytes -------------------------------------------------------------------

    def plain_output(self) -> int:
        return self.batch * self.filters * self.out_spatial * self.item

    output_bytes = plain_output

    def plain_input(self) -> int:
        return self.batch * self.in_channels * self.in_spatial * self.item

    input_bytes = plain_input

    def blocked_input(self) -> int:
        return self.batch * self.pad(self.in_channels) * self.in_spatial * self.item

    def blocked_output(self) -> int:
        return self.batch * self.pad(self.filters) * self.out_spatial * self.item

    def blocked_weight(self, flat_input: bool = False) -> int:
        """The weight in oneDNN's layout: output channels in blocks of 8, input channels too
        unless the input is read flat (few channels); depthwise weights block the groups."""
        if self.depthwise:
            return self.pad(self.groups) * self.taps * self.item
        if flat_input:
            return self.pad(self.filters) * self.in_channels * self.taps * self.item
        per_group = self.pad(self.in_channels // self.groups) * self.pad(self.filters // self.groups)
        return self.groups * per_group * self.taps * self.item

    def padded_bias(self) -> int:
        """The bias copied into a scratchpad entry when the filters do not fill the last block."""
        if not self.bias or self.filters % self.block == 0:
            return 0
        return self.pad(self.filters) * 4 + LINE

    # -- the kernels -----------------------------------------------------------------------------

    def reads_flat_input(self) -> bool:
        """The direct forward kernel reads an input of fewer than 8 channels as it is (the first
        layer of an image network); the 1x1 and depthwise kernels always reorder it."""
        return self.groups == 1 and self.in_channels < self.block and not self.pointwise

    def forward_peak(self) -> int:
        """Most bytes the forward holds at once, its own output included."""
        if not self.uses_onednn():
            # grouped: each group's output is computed apart, then concatenated
            groups_apart = self.plain_output() if self.groups > 1 else 0
            return self.im2col() + self.plain_output() + groups_apart
        flat = self.reads_flat_input()
        source = 0 if flat else self.blocked_input()
        computing = (self.padded_bias() + self.unit_stride_copy() + source + self.blocked_weight(flat)
                     + self.blocked_output())
        copying_out = self.blocked_output() + self.plain_output()
        return max(computing, copying_out)

    def im2col(self) -> int:
        """The native kernel unfolds the input into a (C*taps) x positions matrix; a 1x1 kernel
        at stride 1 without padding (an output as large as the input) reads the input directly."""
        if self.taps == 1 and max(self.stride) == 1 and self.out_spatial == self.in_spatial:
            return 0
        return self.batch * self.out_spatial * (self.in_channels // self.groups) * self.taps * self.item

    def backward_peak(self, input_grad: bool, param_item: int) -> int:
        """Most bytes the backward holds at once, the gradients it returns included."""
        return self._backward_peak(input_grad, param_item, self._weight_gradient_peak(param_item)
                                   if self.uses_onednn() else 0)

    def backward_peaks(self, param_item: int) -> tuple[int, int]:
        """`backward_peak` with and without the input gradient, the weight gradient's pass modelled once."""
        weight_peak = self._weight_gradient_peak(param_item) if self.uses_onednn() else 0
        return (self._backward_peak(True, param_item, weight_peak),
                self._backward_peak(False, param_item, weight_peak))

    def _backward_peak(self, input_grad: bool, param_item: int, weight_peak: int) -> int:
        """`weight_peak`: `_weight_gradient_peak(param_item)`, where oneDNN runs."""
        weight_grads = (self.weights() + (self.filters if self.bias else 0)) * param_item
        input_grad_bytes = self.plain_input() if input_grad else 0
        if not self.uses_onednn():
            # grouped: the input gradient is computed group by group from contiguous copies
            groups_apart = self.plain_output() if self.groups > 1 and input_grad else 0
            return self.im2col() + input_grad_bytes + weight_grads + groups_apart
        phases = [input_grad_bytes + weight_grads]
        if input_grad:
            phases.append(self._input_gradient_peak(input_grad_bytes))
        phases.append(input_grad_bytes + weight_peak)
        return max(phases)

    def _input_gradient_peak(self, input_grad_bytes: int, extra: int = 0) -> int:
        """`extra`: scratchpad bytes held while the kernel works (a transposed convolution's bias)."""
        if self.groups == 1 and self.strided and self.small_strided_gradient():
            if len(self.in_axes) == 1:
                # 1-D: the gemm kernel, plain tensors and one unfolded input per sample
                columns = self.in_channels * self.taps * self.out_spatial * self.item * min(self.threads, self.batch)
                return max(self.plain_output() + self.plain_input() + columns + extra,
                           self.plain_input() + input_grad_bytes)
            working = self.blocked_output() + self.blocked_weight() + self.blocked_input() + extra
            return max(working, self.blocked_input() + input_grad_bytes)
        if self.groups == 1 and self.strided:
            # oneDNN's strided brgemm kernel: channels-last copies (a single channel needs none)
            # and a scratchpad
            output_copy = 0 if self.filters == 1 else self.plain_output()
            weight = self.pad(self.in_channels) * self.filters * self.taps * self.item
            working = output_copy + weight + self.plain_input() + self.strided_gradient_scratch() + extra
            # the channels-last result is copied out through one more input-sized tensor
            return max(working, 2 * self.plain_input() + input_grad_bytes)
        working = self.blocked_output() + self.blocked_weight() + self.blocked_input() + extra
        return max(working, self.blocked_input() + input_grad_bytes)

    def small_strided_gradient(self) -> bool:
        """oneDNN passes over its strided brgemm input-gradient kernel when there are fewer input
        positions in the batch than threads and the stride divides the input's width (measured
        with ONEDNN_VERBOSE on PyTorch 2.13, AVX2, 1-D to 2-D, batch >= 2, 8 and 16 threads):
        a 1-D convolution then takes the gemm kernel, others the direct jit one."""
        width_divides = bool(self.in_axes) and self.in_axes[-1] % self.stride[-1] == 0
        return (not self.pointwise and self.batch > 1 and width_divides
                and self.batch * self.in_spatial < self.threads)

    def divisible(self) -> bool:
        return all(size % step == 0 for size, step in zip(self.in_axes, self.stride))

    def unit_stride_copy(self) -> int:
        """The strided 1x1 kernel first gathers the input positions it reads into a dense buffer,
        one per thread ("reduce to unit stride")."""
        if not (self.pointwise and self.strided):
            return 0
        return self.threads * self.pad(self.in_channels) * self.out_spatial * self.item + LINE

    def strided_gradient_scratch(self) -> int:
        """The scratchpad of the strided brgemm input-gradient kernel: the same in every trace of
        a small layer (more when the stride does not divide the input). On large layers it
        grows by up to the input gradient's size, which this model does not follow."""
        fixed, per_thread = STRIDED_GRADIENT_FLOOR if self.divisible() else STRIDED_GRADIENT_FLOOR_UNEVEN
        return max(fixed + per_thread * self.threads, self.unit_stride_copy())

    def weights(self) -> int:
        return (self.in_channels // self.groups) * self.filters * self.taps

    def _weight_gradient_peak(self, param_item: int) -> int:
        if self.depthwise and self.gemm_depthwise_gradient():
            return self.weights() * param_item + self.unfolded_depthwise_gradient()
        flat = self.groups == 1 and self.in_channels == 3 and not self.pointwise
        source = 0 if flat else self.blocked_input()
        bias_grad = self.filters * param_item if self.bias else 0
        blocked = self.blocked_weight(flat)
        reducing = self.blocked_output() + source + blocked + self.reduction() + self.unit_stride_copy() + bias_grad
        # oneDNN's bias gradient is still alive while PyTorch copies both gradients out
        return max(reducing, blocked + self.weights() * param_item + 2 * bias_grad)

    def gemm_depthwise_gradient(self) -> bool:
        """oneDNN's depthwise weight-gradient kernel takes windows of at most 3 and no longer
        than the stride; other windows go to its gemm kernel."""
        return max(self.kernel) > 3 or any(k < s for k, s in zip(self.kernel, self.stride))

    def unfolded_depthwise_gradient(self) -> int:
        """The gemm kernel works on the plain tensors, unfolding one channel per thread (measured
        on 2-D windows of 5 and 1-D windows of 4; smaller cases book less)."""
        unfolded = self.threads * self.taps * self.out_spatial * self.item
        return unfolded + self.block * self.in_channels * self.taps * self.item + 2 * LINE

    def _depthwise_reduction(self) -> int:
        """Threads take channel blocks first; those left over split the batch of a block, and
        every one but the first sums into its own line-aligned copy of the block's gradient."""
        blocks = self.pad(self.groups) // self.block
        sharing = min(self.threads // blocks, self.batch) if blocks < self.threads else 1
        if sharing < 2:
            return 0
        others = blocks * (sharing - 1) * self.block
        bias = LINE + others * 4 if self.bias else 0
        return LINE + others * self.taps * 4 + bias

    def reduction(self) -> int:
        """The weight-gradient scratchpad: when the weight gradient splits into too few
        independent jobs for the threads, they also split the batch and sum their partial
        gradients in it (`reduce_balancer_t`, reimplemented below). The 1x1 and depthwise kernels
        book theirs their own way; those rules are measured at 1, 2, 4 and 8 threads (docs/memory.md)."""
        if self.threads == 1:
            # one thread sums its gradient in place; a bias gradient that does not fill the last
            # block is still summed in a padded copy (found by hypothesis: 160 B for 1 filter)
            return 0 if self.depthwise else self.padded_bias()
        if self.depthwise:
            return self._depthwise_reduction()
        blocks_in = 1 if self.in_channels == 3 and not self.pointwise else -(-self.in_channels // self.block)
        blocks_out = -(-self.filters // self.block)
        bias = self.padded_bias()
        if self.bias:
            bias += reducer_space(self.block, self.groups * blocks_out, self.batch, self.threads)
        if self.pointwise:
            # the 1x1 kernel takes up to 8 input blocks per job, every output block at once
            if blocks_in > POINTWISE_JOB_BLOCKS:
                return bias
            # one partial gradient per thread, and no more threads than output positions
            sharing = min(self.threads, self.batch * self.out_spatial)
            return 2 * PAGE + LINE + sharing * self.pad(self.in_channels) * self.pad(self.filters) * 4 + bias
        in_block = 3 if blocks_in == 1 and self.in_channels == 3 else self.block
        depth = self.out_axes[0] if len(self.out_axes) == 3 else 1
        job = self.taps * in_block * self.block
        return reducer_space(job, self.groups * blocks_in * blocks_out, self.batch * depth, self.threads) + bias


def balance(threads: int, job_size: int, jobs: int, reduction: int, max_buffer: int) -> tuple[int, int, int]:
    """oneDNN's `reduce_balancer_t::balance`: (groups, threads per group, jobs per group) that
    minimise one thread's work when `jobs` jobs of `job_size` values are each a sum over
    `reduction` terms."""
    least_per_group = max(1, jobs // threads)
    most_per_group = max(1, max_buffer // (threads * job_size))
    groups = min(jobs // least_per_group, threads)
    per_group = min(threads // groups, reduction)
    jobs_per_group = -(-jobs // groups)
    best = jobs * job_size * reduction
    # oneDNN tries every candidate number of jobs per group, but a candidate's outcome depends only
    # on the number of groups it makes, and those decrease as the candidates grow: trying each
    # group count once, in that order, picks the same first best (a million channels would
    # otherwise loop over billions of candidates)
    for c_groups in _group_counts(least_per_group, jobs, threads):
        c_threads = min(threads // c_groups, reduction)
        c_jobs = -(-jobs // c_groups)
        if c_threads > 1 and c_jobs > most_per_group:
            continue
        work = job_size * c_jobs * (-(-reduction // c_threads) + (c_threads != 1))
        if work < best:
            groups, per_group, jobs_per_group, best = c_groups, c_threads, c_jobs, work
    return groups, per_group, jobs_per_group


def _group_counts(least: int, jobs: int, threads: int) -> list[int]:
    """The distinct values of min(jobs // c, threads) over candidates c in [least, jobs), in the
    order the candidates reach them (decreasing)."""
    counts = []
    for groups in range(threads, 0, -1):
        if groups == threads:
            reached = least < jobs and jobs // least >= threads
        else:
            first, last = max(jobs // (groups + 1) + 1, least), min(jobs // groups, jobs - 1)
            reached = first <= last
        if reached:
            counts.append(groups)
    return counts


def reducer_space(job_size: int, jobs: int, reduction: int, threads: int) -> int:
    """Bytes of a float reducer's scratchpad: the partial sums of all but one thread per group,
    page-aligned, and its barriers (two pages and one more per group in every trace)."""
    groups, per_group, jobs_per_group = balance(threads, job_size, jobs, reduction, REDUCER_BUFFER)
    if per_group == 1:
        return 0
    return (2 + groups) * PAGE + groups * (per_group - 1) * jobs_per_group * job_size * 4


@dataclass(frozen=True, slots=True)
class TransposedCase:
    """A transposed convolution, which PyTorch and oneDNN run as the input gradient of the
    convolution it transposes (`conv`: input = this layer's output, output = this layer's input):
    its forward is that convolution's input-gradient pass, its input gradient that convolution's
    forward, its weight gradient that convolution's with the two tensors' roles exchanged."""

    conv: ConvCase
    bias: bool

    def output_bytes(self) -> int:
        return self.conv.plain_input()

    def input_bytes(self) -> int:
        return self.conv.plain_output()

    def forward_peak(self) -> int:
        """Most bytes the forward holds at once, its own output (`conv.plain_input()`) included."""
        conv = self.conv
        if not conv.uses_onednn():
            return conv.plain_input() + self.columns()
        return conv._input_gradient_peak(conv.plain_input(), self.forward_scratchpad())

    def forward_scratchpad(self) -> int:
        """What oneDNN's deconvolution books beyond the input-gradient kernel it runs: a line, and
        room to add the bias (the blocked output; strided, only when the stride does not divide
        the output)."""
        conv = self.conv
        if conv.groups == 1 and conv.strided:
            bias = conv.plain_input() + LINE if self.bias and not conv.divisible() else 0
            return LINE + bias
        return conv.blocked_input() + LINE if self.bias else 0

    def columns(self, backward: bool = False) -> int:
        """The native kernel's column buffer: every output channel's taps at every input position
        (its backward needs none for a 1x1 kernel at stride 1 without padding)."""
        conv = self.conv
        if backward and conv.taps == 1 and not conv.strided and conv.in_spatial == conv.out_spatial:
            return 0
        return conv.batch * conv.in_channels // conv.groups * conv.taps * conv.out_spatial * conv.item

    def backward_peak(self, input_grad: bool, param_item: int) -> int:
        conv = self.conv
        return self._backward_peak(input_grad, param_item, conv._weight_gradient_peak(param_item)
                                   if conv.uses_onednn() else 0)

    def backward_peaks(self, param_item: int) -> tuple[int, int]:
        """`backward_peak` with and without the input gradient, the weight gradient's pass modelled once."""
        conv = self.conv
        weight_peak = conv._weight_gradient_peak(param_item) if conv.uses_onednn() else 0
        return (self._backward_peak(True, param_item, weight_peak),
                self._backward_peak(False, param_item, weight_peak))

    def _backward_peak(self, input_grad: bool, param_item: int, weight_peak: int) -> int:
        conv = self.conv
        bias_grad = conv.in_channels * param_item if self.bias else 0
        weight_grads = conv.weights() * param_item + bias_grad
        input_grad_bytes = conv.plain_output() if input_grad else 0
        if not conv.uses_onednn():
            return input_grad_bytes + weight_grads + self.columns(backward=True)
        phases = [input_grad_bytes + weight_grads]
        if input_grad:
            phases.append(conv.forward_peak())
        phases.append(input_grad_bytes + weight_peak + 2 * bias_grad)
        return max(phases)


def convolution_rule(case: ConvCase | TransposedCase, weights: int, bias: tuple[int, ...],
                     ctx: MemoryContext, **more) -> MemoryRule:
    """What a convolution or transposed convolution does to memory: ConvolutionBackward keeps the
    input (under autocast also the half-precision copy of the weight it made); on the CPU its
    kernels' transients, each peak less the tensors the liveness simulation already counts (the
    output; the input and parameter gradients)."""
    scratch = {}
    if ctx.device == "cpu":
        forward, backward, param_backward = kernel_scratch(case, weights + sum(bias), ctx.param_bytes)
        scratch = {"forward_scratch": forward, "backward_scratch": backward, "param_backward_scratch": param_backward}
    return MemoryRule(
        saves_inputs=ctx.training,
        extra_saved=weights * ctx.act_bytes if ctx.amp and ctx.training else 0,
        casts_input=ctx.amp,
        param_tensors=(weights, *bias),
        **scratch,
        **more,
    )


@lru_cache(maxsize=4096)
def kernel_scratch(case: ConvCase | TransposedCase, params: int, param_bytes: int) -> tuple[int, int, int]:
    """A convolution's transients on the CPU, (forward, backward, backward without an input gradient),
    each peak less the tensors the liveness simulation counts itself: the output; the input and the
    `params` parameters' gradients (`param_bytes` each).

    Memoised (a pure function of its values): a report asks it for training and for inference, `fit` at
    every batch it tries, and a network repeats its convolutions."""
    param_grads = params * param_bytes
    with_input_grad, without = case.backward_peaks(param_bytes)
    return (case.forward_peak() - case.output_bytes(), with_input_grad - case.input_bytes() - param_grads,
            without - param_grads)


def transposed_case(batch: int, in_channels: int, filters: int, groups: int, kernel: tuple[int, ...],
                    in_axes: tuple[int, ...], out_axes: tuple[int, ...], bias: bool, item: int,
                    stride: tuple[int, ...], cpu: Cpu = Cpu()) -> TransposedCase:
    """The transposed convolution from `in_channels` x `in_axes` to `filters` x `out_axes`."""
    native = ConvCase(batch, in_channels, filters, groups, tuple(kernel), prod(in_axes), prod(out_axes), bias, item,
                      cpu=cpu)
    conv = ConvCase(batch, filters, in_channels, groups, tuple(kernel), prod(out_axes), prod(in_axes), False, item,
                    tuple(stride), tuple(out_axes), tuple(in_axes), onednn=native.uses_onednn(), cpu=cpu)
    return TransposedCase(conv, bias)


@lru_cache(maxsize=4096)
def conv_case(batch: int, in_channels: int, filters: int, groups: int, kernel: tuple[int, ...],
              in_axes: tuple[int, ...], out_axes: tuple[int, ...], bias: bool, item: int,
              stride: tuple[int, ...], cpu: Cpu = Cpu()) -> ConvCase:
    """Memoised: a report asks for each convolution's case in training and at inference; the same
    case object then finds its kernel scratch by identity (a case's `__eq__` and `__init__` are Python)."""
    return ConvCase(batch, in_channels, filters, groups, tuple(kernel), prod(in_axes), prod(out_axes), bias, item,
                    tuple(stride), tuple(in_axes), tuple(out_axes), cpu=cpu)
