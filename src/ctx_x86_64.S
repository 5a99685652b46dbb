/* ctx_x86_64.S - the asm backend's context switch, exit and first-entry trampoline
 * (x86-64, System V ABI, GNU assembler, run through the C preprocessor).
 * SPDX-License-Identifier: MIT
 *
 * A suspended context is one 64-byte frame on its own stack; struct coro__ctx
 * holds only the address of that frame (ctx->sp). Lowest address first:
 *
 *     sp+0   MXCSR (4 bytes)        sp+32  r12
 *     sp+4   x87 control word (2)   sp+40  rbx
 *     sp+8   r15                    sp+48  rbp
 *     sp+16  r14                    sp+56  return address
 *     sp+24  r13
 *
 * Built with CORO_SHARED_FP (the CMake option of that name), the first 8
 * bytes are left out: the frame is 56 bytes, r15 at sp+0 ... return address
 * at sp+48, and the MXCSR and x87 control word are neither saved nor
 * restored, so every context on a thread shares the thread's floating-point
 * control state (docs/design.md, "Shared floating-point control state").
 *
 * coro__ctx_switch builds this frame on the running stack (the call pushed
 * the return address), stores rsp into from->sp, loads the target's frame
 * from to->sp and moves rsp past it, ending with a jump to its return address
 * with the status in eax. coro__ctx_exit only does the second half (after an
 * optional call on the target's stack). coro__ctx_switch_back is the same
 * code a second time, for the way back to a driver (below).
 * ctx_asm.c lays out the first frame of a new coroutine as struct frame,
 * which must match this picture.
 *
 * Not saved: the signal mask (no system call; ctx.h), the x87 status word
 * and other caller-saved state. Not shadow-stack (CET SHSTK) compatible.
 */
#if !defined(__x86_64__) || defined(__ILP32__)
#error "ctx_x86_64.S is for x86-64 (LP64) only; use CORO_BACKEND=ucontext"
#endif

/* FRAME_SIZE: the saved frame. EXIT_SCRATCH: what coro__ctx_exit puts below
 * it before its call, so that the call is made with rsp 16-byte aligned (the
 * 64-byte frame starts 16-byte aligned, the 56-byte one 8 mod 16). */
#ifdef CORO_SHARED_FP
#define FRAME_SIZE 56
#define EXIT_SCRATCH 24
#define REGS 0
#else
#define FRAME_SIZE 64
#define EXIT_SCRATCH 16
#define REGS 8
#endif
/* REGS: where r15 sits in the frame; the other registers and the return
 * address follow 8 bytes apart, as in the picture above. */

    .text

/* Loads the saved frame at rdx (the picture above), moves rsp just past it
 * (the target's stack pointer from before its switch call) and jumps to its
 * return address. eax (the status) passes through untouched. Used by the
 * switches and by the exit; the CFI on entry must describe the frame that
 * rsp is in (CFA = rsp + FRAME_SIZE), which is the running context's until
 * the last instruction moves rsp.
 * Plain loads and one lea rather than a stack switch followed by pops: a pop
 * after rsp was loaded from memory waits for that load, and on the AMD Zen 3
 * this was measured on, the push/pop switch pair cost 8.3 ns against 5.0 ns
 * for these moves (docs/design.md, "The hot path"). */
/* With per-context FP state the target's MXCSR and x87 control word are
 * loaded every time, before its registers, as Boost.Context does. Loading
 * them only when they differ from the thread's needs the thread's values in
 * registers, and the only way to get them there is to read back what
 * stmxcsr and fnstcw just stored: on the AMD Zen 3 of docs/benchmarks.md
 * that read-back stalled on store forwarding, and the unconditional loads
 * made the switch pair 26 % faster (14.7 -> 10.9 ns). On an Intel Xeon VM
 * the compare had measured 2 to 14 % faster (docs/design.md, "The hot
 * path"): the smaller difference gave way to the larger one. */
.macro RESTORE_FRAME_AND_GO
#ifndef CORO_SHARED_FP
    ldmxcsr (%rdx)
    fldcw   4(%rdx)
#endif
    movq    REGS+0(%rdx), %r15
    movq    REGS+8(%rdx), %r14
    movq    REGS+16(%rdx), %r13
    movq    REGS+24(%rdx), %r12
    movq    REGS+32(%rdx), %rbx
    movq    REGS+40(%rdx), %rbp
    movq    REGS+48(%rdx), %rcx
    leaq    FRAME_SIZE(%rdx), %rsp
    /* Now in the target: its registers are live, its return address is in
     * rcx and the CFA is rsp itself. */
    .cfi_def_cfa %rsp, 0
    .cfi_restore %r15
    .cfi_restore %r14
    .cfi_restore %r13
    .cfi_restore %r12
    .cfi_restore %rbx
    .cfi_restore %rbp
    .cfi_register %rip, %rcx
    /* Return with a jmp rather than ret: the ret would return to where
     * the *target* called the switch, never where the return stack buffer
     * predicts (this switch's caller), so it would mispredict on every
     * switch; the indirect jmp is predicted from history. notrack: the
     * target is a return address, which has no endbr64; this is how
     * compilers' own jump tables pass IBT. */
    notrack jmp *%rcx
.endm

/* int coro__ctx_switch(coro__ctx *from, coro__ctx *to, int status)
 * rdi = from, rsi = to, edx = status. Saves exactly what a callee must
 * preserve (rbx, rbp, r12-r15, rsp, the MXCSR and x87 control word; the
 * last two not with CORO_SHARED_FP);
 * everything else is caller-saved, so the C caller does not expect it to
 * survive the call. The target's switch returns `status` in eax.
 * Callers may reach this with a tail call (jmp): the frame then holds their
 * caller's return address and registers, which is exactly right, because
 * whoever switches back here hands over the tail-caller's return value.
 * The CFI describes the running context's frame until the last instruction
 * before the jmp moves rsp onto the target's stack, and the target from there.
 *
 * DEFINE_SWITCH makes the function twice. coro__ctx_switch goes into a
 * coroutine, coro__ctx_switch_back hands control back to whoever drove it
 * (coro_yield, a park). Each ends in its own indirect jmp, and the CPU
 * predicts each jmp from that jmp's own history: the way back goes to the
 * few places that drive coroutines (an event loop's one send, say), the way
 * in to the yields of the bodies, so neither direction's targets disturb the
 * other's. With one shared jmp, a send/yield round trip cost 14.9 ns on the
 * machine of docs/benchmarks.md, against 11.4 ns with two. */
.macro DEFINE_SWITCH name
    .globl  \name
    .hidden \name
    .type   \name, @function
    .p2align 4
\name:
    .cfi_startproc
    endbr64
    leaq    -(FRAME_SIZE - 8)(%rsp), %rsp
    .cfi_adjust_cfa_offset FRAME_SIZE - 8
    movq    %r15, REGS+0(%rsp)
    .cfi_rel_offset %r15, REGS+0
    movq    %r14, REGS+8(%rsp)
    .cfi_rel_offset %r14, REGS+8
    movq    %r13, REGS+16(%rsp)
    .cfi_rel_offset %r13, REGS+16
    movq    %r12, REGS+24(%rsp)
    .cfi_rel_offset %r12, REGS+24
    movq    %rbx, REGS+32(%rsp)
    .cfi_rel_offset %rbx, REGS+32
    movq    %rbp, REGS+40(%rsp)
    .cfi_rel_offset %rbp, REGS+40
#ifndef CORO_SHARED_FP
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
#endif

    movq    %rsp, (%rdi)            /* from->sp: this context is now saved */
    movl    %edx, %eax              /* what the target's switch returns */
    movq    (%rsi), %rdx            /* to->sp: the target's frame */

    RESTORE_FRAME_AND_GO
    .cfi_endproc
    .size   \name, .-\name
.endm

    DEFINE_SWITCH coro__ctx_switch
    DEFINE_SWITCH coro__ctx_switch_back

/* void coro__ctx_exit(coro__ctx *to, int status, void (*on_arrival)(void *),
 *                     void *arg)
 * rdi = to, esi = status, rdx = on_arrival (may be NULL), rcx = arg.
 * Moves onto to's stack for good (nothing of the running context is saved),
 * calls on_arrival(arg) there, below to's saved frame, and then resumes to
 * like the switch does. Below the frame is free: to's own code is stopped in
 * a call of the switch, and the switch keeps nothing under its frame. After
 * the scratch slot (EXIT_SCRATCH) rsp is 16-byte aligned, so the call enters
 * on_arrival with the alignment the ABI wants. From the first instruction
 * after the stack move, the CFI describes to's frame, so a debugger stopped
 * inside on_arrival unwinds into to's code. */
    .globl  coro__ctx_exit
    .hidden coro__ctx_exit
    .type   coro__ctx_exit, @function
    .p2align 4
coro__ctx_exit:
    .cfi_startproc
    endbr64
    movq    (%rdi), %rsp            /* to->sp: the old stack is abandoned */
    .cfi_def_cfa %rsp, FRAME_SIZE
    .cfi_offset %rip, -8
    .cfi_offset %rbp, -16
    .cfi_offset %rbx, -24
    .cfi_offset %r12, -32
    .cfi_offset %r13, -40
    .cfi_offset %r14, -48
    .cfi_offset %r15, -56
    testq   %rdx, %rdx
    jz      1f
    subq    $EXIT_SCRATCH, %rsp
    .cfi_adjust_cfa_offset EXIT_SCRATCH
    movl    %esi, (%rsp)            /* the status survives the call here */
    movq    %rcx, %rdi
    callq   *%rdx
    movl    (%rsp), %esi
    addq    $EXIT_SCRATCH, %rsp
    .cfi_adjust_cfa_offset -EXIT_SCRATCH
1:
    movl    %esi, %eax
    movq    %rsp, %rdx              /* the frame is where rsp already is */
    RESTORE_FRAME_AND_GO
    .cfi_endproc
    .size   coro__ctx_exit, .-coro__ctx_exit

/* The first switch into a new context jumps to coro__ctx_trampoline_ret,
 * with r12 = entry, r13 = arg (from the initial frame) and rsp 16-byte
 * aligned, so the call below enters entry with rsp + 8 aligned to 16 as the
 * ABI requires. entry never returns (ctx.h); if it did, ud2 stops the process
 * at once instead of running off into whatever follows. The undefined return
 * address ends debugger backtraces and unwinding here.
 * That address (the first frame's return address) is past the endbr64, not
 * the symbol itself, because unwinders look up "return address - 1": it must
 * fall inside this function's CFI, not in the padding after the switch. */
    .globl  coro__ctx_trampoline
    .hidden coro__ctx_trampoline
    .globl  coro__ctx_trampoline_ret
    .hidden coro__ctx_trampoline_ret
    .type   coro__ctx_trampoline, @function
    .p2align 4
coro__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined %rip
    endbr64
coro__ctx_trampoline_ret:
    movq    %r13, %rdi
    callq   *%r12
    ud2
    .cfi_endproc
    .size   coro__ctx_trampoline, .-coro__ctx_trampoline

/* With -fcf-protection, mark this object IBT-compatible (every global entry
 * has endbr64; the trampoline's call lands on entry, a C function with its
 * own endbr64; the switch's jmp is notrack). It is NOT shadow-stack
 * compatible: a switch returns to a different caller than the one that
 * called it, so the SHSTK bit is deliberately left out and the linker clears
 * it for the whole library. */
#if defined(__CET__) && (__CET__ & 1)
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                       /* name size: "GNU\0" */
    .long   16                      /* descriptor size */
    .long   5                       /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000002              /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long   4                       /* property data size */
    .long   1                       /* GNU_PROPERTY_X86_FEATURE_1_IBT */
    .p2align 3
#endif

    .section .note.GNU-stack, "", @progbits
