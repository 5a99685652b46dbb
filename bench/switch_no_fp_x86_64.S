/* switch_no_fp_x86_64.S - for switch_pair_no_fp_ns only: the asm backend's
 * switch with the MXCSR and x87 control-word save and restore left out.
 * SPDX-License-Identifier: MIT
 *
 * Not a libcoro configuration and never linked into the library: a switch
 * that does not keep each context's floating-point control state breaks the
 * ABI's promise that a call preserves it. It is here so that one run shows
 * what that save and restore costs (compare ctx_switch_pair_ns on the asm
 * backend); docs/benchmarks.md reads the two rows together.
 *
 * Frame at a saved sp, lowest address first: r15 r14 r13 r12 rbx rbp, then
 * the return address (56 bytes; the saved sp is 8 mod 16).
 */
    .text

/* void bench_switch_no_fp(void **from_sp, void **to_sp) and
 * bench_switch_no_fp_back (same): as in src/ctx_x86_64.S, the frame is
 * stored and loaded with plain moves, and there are two copies, one for each
 * direction (the driver uses the first, the partner the second), so that
 * each ends in its own indirect jump. */
.macro NO_FP_SWITCH name
    .globl  \name
    .type   \name, @function
    .p2align 4
\name:
    endbr64
    leaq    -48(%rsp), %rsp
    movq    %r15, 0(%rsp)
    movq    %r14, 8(%rsp)
    movq    %r13, 16(%rsp)
    movq    %r12, 24(%rsp)
    movq    %rbx, 32(%rsp)
    movq    %rbp, 40(%rsp)
    movq    %rsp, (%rdi)
    movq    (%rsi), %rdx
    movq    0(%rdx), %r15
    movq    8(%rdx), %r14
    movq    16(%rdx), %r13
    movq    24(%rdx), %r12
    movq    32(%rdx), %rbx
    movq    40(%rdx), %rbp
    movq    48(%rdx), %rcx
    leaq    56(%rdx), %rsp
    notrack jmp *%rcx
    .size   \name, .-\name
.endm

    NO_FP_SWITCH bench_switch_no_fp
    NO_FP_SWITCH bench_switch_no_fp_back

/* A new context's first switch lands here with r12 = entry, r13 = arg and
 * rsp 16-byte aligned; entry never returns. */
    .globl  bench_switch_no_fp_trampoline
    .type   bench_switch_no_fp_trampoline, @function
    .p2align 4
bench_switch_no_fp_trampoline:
    endbr64
    movq    %r13, %rdi
    callq   *%r12
    ud2
    .size   bench_switch_no_fp_trampoline, .-bench_switch_no_fp_trampoline

    .section .note.GNU-stack, "", @progbits
