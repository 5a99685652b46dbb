/* pipeline.c - producer, filter and sink, each coroutine pushing into the
 * next, closed at the end (coro_start, coro_yield_value, coro_defer).
 * SPDX-License-Identifier: MIT
 *
 * The Python it reproduces (its output is expected/pipeline.txt):
 *
 *     @coroutine                       # next(g) once, right after creation
 *     def sink():
 *         count = 0
 *         try:
 *             while True:
 *                 word = yield
 *                 count += 1
 *                 print(f"sink: {word}")
 *         finally:
 *             print(f"sink closed after {count} words")
 *
 *     @coroutine
 *     def long_words(target, min_len):
 *         try:
 *             while True:
 *                 word = yield
 *                 if len(word) >= min_len:
 *                     target.send(word)
 *         finally:
 *             print("filter closed")
 *             target.close()
 *
 *     def produce(target):
 *         for word in ("apple", "fig", "banana", "kiwi", "cherry"):
 *             print(f"producer: {word}")
 *             target.send(word)
 *         target.close()
 *
 *     produce(long_words(sink(), 5))
 *
 * The words are string literals: they outlive every coroutine, so passing
 * the pointers along is safe (docs/guide.md, "Value lifetimes").
 */
#include <coro.h>
#include <stdio.h>
#include <string.h>

static void sink_finally(void *count) { printf("sink closed after %d words\n", *(int *)count); }

static void *sink(coro *self, void *arg)
{
    (void)arg;
    int count = 0; /* lives on the sink's stack until its finally has run */
    coro_defer(self, sink_finally, &count);
    for (;;) {
        const char *word = coro_yield_value(self, NULL); /* close: GeneratorExit */
        count++;
        printf("sink: %s\n", word);
    }
    return NULL; /* not reached: only close ends the sink */
}

static void filter_finally(void *target)
{
    printf("filter closed\n");
    coro_close(target, NULL);
}

static void *long_words(coro *self, void *target)
{
    coro_defer(self, filter_finally, target);
    for (;;) {
        const char *word = coro_yield_value(self, NULL);
        if (strlen(word) >= 5 && coro_send(target, (void *)word, NULL) < 0)
            coro_raisef(self, &coro_RuntimeError, "send to sink: %s", coro_last_error());
    }
    return NULL; /* not reached */
}

static int produce(coro *target)
{
    static const char *const words[] = {"apple", "fig", "banana", "kiwi", "cherry"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        printf("producer: %s\n", words[i]);
        if (coro_send(target, (void *)words[i], NULL) != CORO_YIELDED)
            return 1; /* the filter ended or failed: coro_exception says why */
    }
    return coro_close(target, NULL) == CORO_OK ? 0 : 1;
}

int main(void)
{
    coro *out = NULL, *filter = NULL;
    int rc = 1;
    if (coro_start(&out, sink, NULL, NULL) == CORO_YIELDED &&
        coro_start(&filter, long_words, out, NULL) == CORO_YIELDED)
        rc = produce(filter);
    else
        fprintf(stderr, "pipeline: %s\n", coro_last_error());
    coro_destroy(filter); /* the filter first: it closes the sink */
    coro_destroy(out);
    return rc;
}
