/* thread_errno.c - errno and a coroutine that moves between threads: the safe
 * pattern of docs/guide.md, "Threads, errno and thread-locals".
 * SPDX-License-Identifier: MIT
 *
 * errno is a thread-local: each thread has its own. A body resumed on another
 * thread is on that thread's errno after the yield, but an optimising
 * compiler may have computed the address of the old thread's errno before
 * the yield and reuse it after (the yield is an ordinary call to it). The
 * safe pattern, shown here:
 *
 *  1. errno is read and written only inside a small function the compiler
 *     does not inline into the body (noinline), so the thread-local address
 *     is computed afresh on every call, on the thread that makes it;
 *  2. its value is copied into an ordinary local before the next yield; that
 *     local travels with the coroutine's stack to whatever thread resumes it.
 *
 * The same holds for every _Thread_local variable of yours.
 */
#include <coro.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Parses a decimal number; returns 0, or the errno value of the failure
 * (EINVAL for trailing junk). errno is touched only in here. */
static NOINLINE int parse(const char *text, long *value)
{
    char *end = NULL;
    errno = 0;
    *value = strtol(text, &end, 10);
    if (errno != 0)
        return errno;
    return *end != '\0' ? EINVAL : 0;
}

static const char *err_name(int err)
{
    return err == 0 ? "ok" : err == ERANGE ? "ERANGE" : err == EINVAL ? "EINVAL" : "other";
}

/* Parses three texts, one per resume; the driver sends the name of the
 * thread that resumes it. */
static void *parser(coro *self, void *thread_name)
{
    static const char *const texts[] = {"99999999999999999999", "12x", "42"};
    int first_err = 0;
    for (int i = 0; i < 3; i++) {
        long value = 0;
        int err = parse(texts[i], &value); /* errno read on this thread, now */
        if (i == 0)
            first_err = err; /* a plain local: safe to keep across the yield */
        printf("%s: parse(\"%s\") -> %s", (const char *)thread_name, texts[i], err_name(err));
        if (err == 0)
            printf(" %ld", value);
        if (i > 0)
            printf(" (the error of step 1, kept in a local: %s)", err_name(first_err));
        printf("\n");
        thread_name = coro_yield_value(self, NULL);
    }
    return NULL;
}

static void *worker(void *c)
{
    static int rc;
    rc = coro_send(c, "worker thread", NULL); /* resume it here, on this thread */
    return &rc;
}

int main(void)
{
    coro *c = NULL;
    void *out = NULL;
    if (coro_create(&c, parser, "main thread", NULL) != CORO_OK)
        return 1;
    int rc = coro_next(c, &out); /* step 1 on the main thread */
    pthread_t t;
    void *trc = NULL;
    if (rc == CORO_YIELDED && pthread_create(&t, NULL, worker, c) == 0 &&
        pthread_join(t, &trc) == 0 && *(int *)trc == CORO_YIELDED)
        rc = coro_send(c, "main thread", &out); /* step 3, back on the main thread */
    else
        rc = -1;
    if (rc == CORO_YIELDED)
        rc = coro_next(c, &out);
    printf("parser %s\n", rc == CORO_RETURNED ? "finished" : "failed");
    coro_destroy(c);
    return rc == CORO_RETURNED ? 0 : 1;
}
