/* ctx_aarch64.S - the asm backend's context switch, exit and first-entry
 * trampoline for AArch64 (AAPCS64, GNU assembler, run through the C
 * preprocessor).
 * SPDX-License-Identifier: MIT
 *
 * A suspended context is one 176-byte frame on its own stack; struct
 * coro__ctx holds only the address of that frame (ctx->sp). Offsets:
 *
 *     sp+0    x19, x20      sp+96   d8, d9
 *     sp+16   x21, x22      sp+112  d10, d11
 *     sp+32   x23, x24      sp+128  d12, d13
 *     sp+48   x25, x26      sp+144  d14, d15
 *     sp+64   x27, x28      sp+160  FPCR, (padding)
 *     sp+80   x29, x30 (the return address)
 *
 * That is what AAPCS64 makes a callee preserve: x19-x28, the frame pointer
 * x29, sp, the low halves of v8-v15 (d8-d15) and the FPCR's modes (rounding,
 * flush-to-zero, default NaN), the AArch64 counterpart of the x86-64 MXCSR
 * and x87 control word. x30 is saved as where to continue.
 * coro__ctx_switch builds this frame below the running sp, stores sp into
 * from->sp, loads to->sp and unwinds the target's frame the same way, ending
 * with a return to the target's x30 with the status in w0. coro__ctx_exit
 * only does the second half (after an optional call on the target's stack).
 * ctx_asm_aarch64.c lays out the first frame of a new coroutine to match.
 *
 * Built with CORO_SHARED_FP (the CMake option of that name), the FPCR slot is
 * left out (a 160-byte frame, the offsets above unchanged) and the FPCR is
 * neither saved nor restored, so every context on a thread shares the
 * thread's floating-point modes (docs/design.md, "Shared floating-point
 * control state").
 *
 * The way back is `ret`: unlike x86-64's backend this one does not use an
 * indirect branch (`br x30`), because with BTI a `br` may only land on a
 * landing pad and return addresses have none. Not saved: the signal mask
 * (no system call), the FPSR (status flags), and caller-saved state.
 */
#if !defined(__aarch64__) || defined(__ILP32__)
#error "ctx_aarch64.S is for AArch64 (LP64) only; use CORO_BACKEND=ucontext"
#endif

/* The saved frame: 160 bytes of registers, then the FPCR and 8 bytes of
 * padding (sp stays 16-byte aligned) unless CORO_SHARED_FP. */
#ifdef CORO_SHARED_FP
#define FRAME_SIZE 160
#else
#define FRAME_SIZE 176
#endif

    .text

/* Restores the frame at sp and returns to its x30. w0 passes through. */
.macro RESTORE_FRAME_AND_RETURN
#ifndef CORO_SHARED_FP
    ldr     x9, [sp, #160]
    msr     fpcr, x9
#endif
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    add     sp, sp, #FRAME_SIZE
    .cfi_def_cfa_offset 0
    .cfi_restore x29
    .cfi_restore x30
    ret
.endm

/* int coro__ctx_switch(coro__ctx *from, coro__ctx *to, int status)
 * x0 = from, x1 = to, w2 = status; the target's switch returns status in w0.
 * As on x86-64, a caller may reach this with a tail call (b): the frame then
 * holds its caller's x30, which is exactly right.
 * coro__ctx_switch_back (ctx.h) is a second name for the same code: the way
 * back is a `ret` here, predicted by the return stack, not an indirect jump
 * that a second copy could give its own history. */
    .globl  coro__ctx_switch
    .hidden coro__ctx_switch
    .type   coro__ctx_switch, %function
    .globl  coro__ctx_switch_back
    .hidden coro__ctx_switch_back
    .type   coro__ctx_switch_back, %function
    .p2align 4
coro__ctx_switch:
coro__ctx_switch_back:
    .cfi_startproc
    sub     sp, sp, #FRAME_SIZE
    .cfi_def_cfa_offset FRAME_SIZE
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    .cfi_offset x29, 80 - FRAME_SIZE
    .cfi_offset x30, 88 - FRAME_SIZE
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
#ifndef CORO_SHARED_FP
    mrs     x9, fpcr
    str     x9, [sp, #160]
#endif

    mov     x9, sp
    str     x9, [x0]                /* from->sp: this context is now saved */
    mov     w0, w2                  /* what the target's switch returns */
    ldr     x9, [x1]
    mov     sp, x9                  /* to->sp: from here on, the target's stack */

    RESTORE_FRAME_AND_RETURN
    .cfi_endproc
    .size   coro__ctx_switch, .-coro__ctx_switch

/* void coro__ctx_exit(coro__ctx *to, int status, void (*on_arrival)(void *),
 *                     void *arg)
 * x0 = to, w1 = status, x2 = on_arrival (may be NULL), x3 = arg.
 * Moves onto to's stack for good and calls on_arrival(arg) there, below to's
 * saved frame (free: to is stopped in a call of the switch). x19 carries the
 * status across the call: on_arrival preserves it, and the frame's own x19
 * is restored afterwards. */
    .globl  coro__ctx_exit
    .hidden coro__ctx_exit
    .type   coro__ctx_exit, %function
    .p2align 4
coro__ctx_exit:
    .cfi_startproc
    ldr     x9, [x0]
    mov     sp, x9                  /* to->sp: the old stack is abandoned */
    .cfi_def_cfa sp, FRAME_SIZE
    .cfi_offset x29, 80 - FRAME_SIZE
    .cfi_offset x30, 88 - FRAME_SIZE
    mov     w19, w1
    cbz     x2, 1f
    mov     x0, x3
    blr     x2
1:
    mov     w0, w19
    RESTORE_FRAME_AND_RETURN
    .cfi_endproc
    .size   coro__ctx_exit, .-coro__ctx_exit

/* The first switch into a new context returns here with x19 = entry,
 * x20 = arg and sp 16-byte aligned (the frame was popped). entry never
 * returns (ctx.h); if it did, brk stops the process at once. The first
 * frame's x29 is 0, which ends frame-pointer backtraces. */
    .globl  coro__ctx_trampoline
    .hidden coro__ctx_trampoline
    .type   coro__ctx_trampoline, %function
    .p2align 4
coro__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x20
    blr     x19
    brk     #0x3e8
    .cfi_endproc
    .size   coro__ctx_trampoline, .-coro__ctx_trampoline

    .section .note.GNU-stack, "", %progbits
