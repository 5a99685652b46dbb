/* rows_peers.c - boost_fcontext_pair_ns and pcl_pair_ns: other libraries' context switches.
 * SPDX-License-Identifier: MIT
 *
 * Each peer row is a round trip like swapcontext_pair_ns: main switches to a
 * context on a 64 KiB stack of its own, which switches straight back. A peer
 * is compiled in only when CMake found its library (bench/CMakeLists.txt
 * defines CORO_BENCH_HAVE_BOOST_CONTEXT and CORO_BENCH_HAVE_PCL); otherwise
 * its entry in bench_peers says why it is missing and coro-bench skips it
 * with that note. A missing peer never gets a number.
 */
#include "rows.h"

#include <stdlib.h>

#define PEER_STACK_SIZE (64u * 1024u)

#ifdef CORO_BENCH_PEERS_DISABLED
#define MISSING_BOOST "peers were disabled at build time (-DCORO_BENCH_PEERS=OFF)"
#define MISSING_PCL MISSING_BOOST
#else
#define MISSING_BOOST "libboost-context-dev was not installed at build time"
#define MISSING_PCL "libpcl1-dev was not installed at build time"
#endif

/* ------------------------------------------------------------------------ */
/* Boost.Context: jump_fcontext                                             */
/* ------------------------------------------------------------------------ */

#ifdef CORO_BENCH_HAVE_BOOST_CONTEXT

/* The C ABI of libboost_context's fcontext functions (extern "C" there),
 * declared here so that no C++ header is needed. A context is an opaque
 * pointer; a jump hands the jumped-to side the context it came from and one
 * pointer of data. make_fcontext wants the top of the stack (it grows down)
 * and a function that must never return. */
typedef void *fcontext_t;
typedef struct transfer_t {
    fcontext_t fctx; /* the context that jumped here, to jump back to */
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

static fcontext_t fcontext_partner;
static void *fcontext_stack;

/* The partner: back to whoever jumped here, with the data it brought,
 * forever. It is never resumed after the row ends; its stack is freed. */
static void fcontext_echo(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, t.data);
}

static void *setup_fcontext(long param)
{
    (void)param;
    fcontext_stack = malloc(PEER_STACK_SIZE);
    if (fcontext_stack == NULL)
        bench_fail("out of memory for a %u-byte fcontext stack", PEER_STACK_SIZE);
    fcontext_partner = make_fcontext((char *)fcontext_stack + PEER_STACK_SIZE,
                                     PEER_STACK_SIZE, fcontext_echo);
    if (fcontext_partner == NULL)
        bench_fail("make_fcontext returned NULL");
    return fcontext_stack;
}

static void run_fcontext(void *state, uint64_t iters)
{
    (void)state;
    for (uint64_t i = 0; i < iters; i++) {
        void *value = (void *)(uintptr_t)(i + 1);
        transfer_t t = jump_fcontext(fcontext_partner, value);
        fcontext_partner = t.fctx; /* where the partner stopped this time */
        if (t.data != value)
            bench_fail("jump_fcontext with %p came back with %p", value, t.data);
    }
}

static void teardown_fcontext(void *state)
{
    free(state);
    fcontext_stack = NULL;
    fcontext_partner = NULL;
}

static const bench_row row_boost_fcontext_pair = {"boost_fcontext_pair_ns", 0, setup_fcontext,
                                                  run_fcontext, teardown_fcontext};
#define BOOST_ROW (&row_boost_fcontext_pair)
#else
#define BOOST_ROW NULL
#endif /* CORO_BENCH_HAVE_BOOST_CONTEXT */

/* ------------------------------------------------------------------------ */
/* PCL (Portable Coroutine Library): co_call and co_resume                  */
/* ------------------------------------------------------------------------ */

#ifdef CORO_BENCH_HAVE_PCL
#include <pcl.h>

/* The partner: back to the caller of co_call, forever; it counts its round
 * trips in *arg so that the driver can check each one happened. */
static void pcl_partner(void *arg)
{
    volatile uint64_t *trips = arg;
    for (;;) {
        (*trips)++;
        co_resume();
    }
}

typedef struct pcl_state {
    coroutine_t co;
    volatile uint64_t trips;
} pcl_state;

static void *setup_pcl(long param)
{
    (void)param;
    pcl_state *s = malloc(sizeof *s);
    if (s == NULL)
        bench_fail("out of memory for the pcl row");
    s->trips = 0;
    /* A NULL stack: PCL allocates PEER_STACK_SIZE bytes and co_delete frees them. */
    s->co = co_create(pcl_partner, (void *)&s->trips, NULL, (int)PEER_STACK_SIZE);
    if (s->co == NULL)
        bench_fail("co_create returned NULL");
    return s;
}

static void run_pcl(void *state, uint64_t iters)
{
    pcl_state *s = state;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t before = s->trips;
        co_call(s->co);
        if (s->trips != before + 1)
            bench_fail("co_call returned without one round trip of the partner");
    }
}

static void teardown_pcl(void *state)
{
    pcl_state *s = state;
    co_delete(s->co); /* suspended in co_resume, never resumed: nothing to clean */
    free(s);
}

static const bench_row row_pcl_pair = {"pcl_pair_ns", 0, setup_pcl, run_pcl, teardown_pcl};
#define PCL_ROW (&row_pcl_pair)
#else
#define PCL_ROW NULL
#endif /* CORO_BENCH_HAVE_PCL */

const bench_peer bench_peers[BENCH_PEER_COUNT] = {
    {"boost_fcontext_pair_ns", BOOST_ROW, MISSING_BOOST},
    {"pcl_pair_ns", PCL_ROW, MISSING_PCL},
};
