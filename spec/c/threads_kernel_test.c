/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Two threads of one observed process, on the real kernel: each opens its
 * own file and starts its own child, then drains with
 * viv_observer__drain_thread() at its own boundary. Each must get its own
 * records (its child's included, through hdr.origin) and none of the
 * other's. Needs root: it loads the kernel side itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "vivarium.h"

struct worker {
	struct viv_observer *o;
	pthread_barrier_t *ready;
	char path[64];		/* opened by the thread itself */
	char child_path[64];	/* opened by its child (cat) */
	pid_t tid;
	int own, child, foreign;	/* what its drains handed over */
};

static struct worker workers[2];

static int count(void *ctx, const struct viv_event *ev)
{
	const struct viv_path_open *po = (const void *)ev->raw;
	struct worker *w = ctx;
	int i;

	CHECK(ev->origin == (uint32_t)w->tid, "origin %u handed to thread %d",
	      ev->origin, (int)w->tid);
	if (ev->kind != VIV_KIND_PATH_OPEN)
		return 0;
	for (i = 0; i < 2; i++) {
		struct worker *x = &workers[i];
		bool mine = x == w;

		if (!strcmp(po->path, x->path)) {
			if (mine)
				w->own++;
			else
				w->foreign++;
		} else if (!strcmp(po->path, x->child_path)) {
			if (mine)
				w->child++;
			else
				w->foreign++;
		}
	}
	return 0;
}

static void run_cat(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/cat", "cat", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	int fd;

	w->tid = syscall(SYS_gettid);
	/* Both act before either drains: the ring holds both threads'
	 * records when the first drain runs. */
	fd = open(w->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	run_cat(w->child_path);
	pthread_barrier_wait(w->ready);
	viv_observer__drain_thread(w->o, w->tid, count, w);
	pthread_barrier_wait(w->ready);
	/* what the other thread's drain left behind for this one */
	viv_observer__drain_thread(w->o, w->tid, count, w);
	return NULL;
}

int main(void)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_LOCAL };
	pthread_barrier_t ready;
	pthread_t threads[2];
	int i, fd;

	if (geteuid() != 0) {
		printf("threads_kernel_test: skipped: needs root\n");
		return check_report();
	}
	for (i = 0; i < 2; i++) {
		snprintf(workers[i].path, sizeof(workers[i].path),
			 "/tmp/viv-thread-%d-%d", (int)getpid(), i);
		snprintf(workers[i].child_path, sizeof(workers[i].child_path),
			 "/tmp/viv-thread-%d-%d-child", (int)getpid(), i);
		fd = open(workers[i].path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		close(fd);
		fd = open(workers[i].child_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		close(fd);
	}

	workers[0].o = workers[1].o = viv_observer__open(&opts);
	CHECK(workers[0].o, "observer: %s", strerror(errno));
	if (!workers[0].o)
		goto out;
	pthread_barrier_init(&ready, NULL, 2);
	for (i = 0; i < 2; i++) {
		workers[i].ready = &ready;
		pthread_create(&threads[i], NULL, work, &workers[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&ready);
	viv_observer__close(workers[0].o);

	for (i = 0; i < 2; i++) {
		CHECK(workers[i].own == 1, "thread %d: %d opens of its file",
		      i, workers[i].own);
		CHECK(workers[i].child == 1, "thread %d: %d opens by its child",
		      i, workers[i].child);
		CHECK(workers[i].foreign == 0, "thread %d: %d records of the other",
		      i, workers[i].foreign);
	}
out:
	for (i = 0; i < 2; i++) {
		unlink(workers[i].path);
		unlink(workers[i].child_path);
	}
	return check_report();
}
