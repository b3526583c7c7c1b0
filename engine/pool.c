/* pool.c - a small fixed thread pool: the caller plus n-1 workers run the
 * tasks of one job, handed out through an atomic counter, then all wait. */
#include "nn_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct nn_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long generation; /* bumped per job so workers see a new one */
    int quit;
    int busy;                 /* workers still inside the current job */
    nn_task_fn fn;
    void *ctx;
    int ntasks;
    int gemm_mode;            /* the caller's, for the workers' GEMMs */
    atomic_int next;
};

typedef struct { nn_pool *pool; int id; } worker_arg;

static void run_tasks(nn_pool *p, int thread)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            break;
        p->fn(p->ctx, t, thread);
    }
}

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    nn_pool *p = wa->pool;
    int id = wa->id;
    free(wa);
    nn_fp_enter(); /* the pool's own thread: for good, nothing to restore */
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit)
            break;
        seen = p->generation;
        nn_gemm_set_mode(p->gemm_mode);
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

nn_pool *nn_pool_new(int n)
{
    if (n < 1 || n > 256)
        return nn_fail_null("thread count %d out of range 1..256", n);
    nn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return nn_fail_null("out of memory");
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return nn_fail_null("out of memory");
    }
    for (int i = 1; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || (wa->pool = p, wa->id = i, pthread_create(&p->threads[i], NULL, worker, wa))) {
            free(wa);
            p->n = i; /* only the threads started so far get joined */
            nn_pool_free(p);
            return nn_fail_null("cannot start thread %d", i);
        }
    }
    return p;
}

void nn_pool_free(nn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int nn_pool_size(const nn_pool *p) { return p ? p->n : 1; }

void nn_pool_run(nn_pool *p, int ntasks, nn_task_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (!p || p->n == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    p->gemm_mode = nn_gemm_mode();
    atomic_store(&p->next, 0);
    p->busy = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
