/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Embedding libvivarium in a C program: run a command, observe it and its
 * children, and print what they made the kernel do.
 *
 *   observe_command /bin/sh -c 'cat /etc/hostname; true'
 *
 * Works through a running daemon without privileges, or as root without one.
 * Build: cc observe_command.c $(pkg-config --cflags --libs --static vivarium)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vivarium.h>

static int print_event(void *ctx, const struct viv_event *ev)
{
	char payload[1024];

	viv_event__payload(ev, payload, sizeof(payload));
	printf("%" PRIu64 ".%09" PRIu64 " pid=%u tid=%u %s %s %s\n",
	       ev->ktime_ns / 1000000000, ev->ktime_ns % 1000000000, ev->pid,
	       ev->tid, viv_severity__name(viv_event__severity(ev->kind)),
	       viv_event__name(ev->kind), payload);
	return 0;
}

int main(int argc, char **argv)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_AUTO };
	struct viv_observer *obs;
	int status, err;
	uint64_t lost;
	pid_t child;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}

	/* Register before forking: the kernel follows children from here on. */
	obs = viv_observer__open(&opts);
	if (!obs) {
		fprintf(stderr, "observe_command: cannot observe: %s\n", viv_errstr(errno));
		return 1;
	}

	child = fork();
	if (child < 0) {
		perror("observe_command: fork");
		viv_observer__close(obs);
		return 1;
	}
	if (child == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "observe_command: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}

	/* Drain while the command runs, so a long one cannot fill the ring. */
	while (waitpid(child, &status, WNOHANG) == 0) {
		if (viv_observer__pending(obs))
			viv_observer__drain(obs, print_event, NULL);
		nanosleep(&tick, NULL);
	}
	err = viv_observer__drain(obs, print_event, NULL);
	if (err < 0)
		fprintf(stderr, "observe_command: drain failed: %s\n", viv_errstr(err));

	lost = viv_observer__lost(obs);
	if (lost)
		fprintf(stderr, "observe_command: %" PRIu64 " event(s) lost: the ring was full\n",
			lost);
	viv_observer__close(obs);

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
