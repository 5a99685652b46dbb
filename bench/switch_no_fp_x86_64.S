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

/* void bench_switch_no_fp(void **from_sp, void **to_sp) */
    .globl  bench_switch_no_fp
    .type   bench_switch_no_fp, @function
    .p2align 4
bench_switch_no_fp:
    endbr64
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    popq    %rcx
    notrack jmp *%rcx
    .size   bench_switch_no_fp, .-bench_switch_no_fp

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
