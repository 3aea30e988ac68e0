/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Vivarium::Native: the observer as Ruby sees it, and the boundary hook.
 * Only ext/ruby/lib/vivarium/observer.rb calls these.
 *
 * The hook is a TracePoint with a C function on call, return, c_call and
 * c_return of every thread. It returns at once unless records of the
 * calling thread wait (viv_observer__pending_thread(): loads from shared
 * memory, no lock, no system call; the thread id is cached per thread);
 * only then does it call the Ruby handler, which drains, builds the stack
 * and formats. TracePoint hooks run with the GVL held and never fire
 * inside another hook of the same thread, so the handler is not re-entered
 * by its own calls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ruby.h>
#include <ruby/debug.h>
#include <ruby/thread.h>

#include "vivarium.h"

/* Not in vivarium.h yet; lib/thread.c defines it. */

#define PAYLOAD_LEN	1024

struct robs {
	struct viv_observer *o;
	pid_t pid;		/* the process that opened it */
	uint64_t lost_seen;	/* viv_observer__lost() at the last drain */
};

static VALUE mVivarium, mNative, cObserver, cEvent, eError;
static ID id_boundary;
static VALUE sym_call, sym_return, sym_c_call, sym_c_return;

/*
 * One hook per process, like the Lua host's: one observer feeds it and
 * one handler gets its boundaries. The TracePoint and the handler are
 * registered with the GC.
 */
static VALUE hook_tp = Qnil;
static VALUE hook_handler = Qnil;
static struct viv_observer *hook_obs;
static bool hook_forked;
static bool hook_failed;

/*
 * initial-exec: read on every boundary, and the general dynamic model of a
 * dlopen()ed object costs a __tls_get_addr() call each time; four bytes
 * fit the static TLS that glibc keeps for such objects.
 */
static __thread pid_t tid_cache __attribute__((tls_model("initial-exec")));

/* Ruby threads are native threads (one each, in 3.1), so this is the
 * thread id the kernel writes into records. */
static pid_t thread_tid(void)
{
	if (!tid_cache)
		tid_cache = syscall(SYS_gettid);
	return tid_cache;
}

/*
 * A forked child has one thread, with the forking thread's cached id,
 * and copies of the parent's ring mappings that it must not consume.
 */
static void after_fork_child(void)
{
	tid_cache = 0;
	hook_forked = true;
}

/* ---- the observer object ------------------------------------------------ */

static void robs_free(void *p)
{
	struct robs *ro = p;

	if (ro->o) {
		if (hook_obs == ro->o)
			hook_obs = NULL;
		viv_observer__close(ro->o);
	}
	xfree(ro);
}

static size_t robs_size(const void *p)
{
	return sizeof(struct robs);
}

static const rb_data_type_t robs_type = {
	.wrap_struct_name = "vivarium observer",
	.function = { .dfree = robs_free, .dsize = robs_size },
	.flags = RUBY_TYPED_FREE_IMMEDIATELY,
};

static VALUE robs_alloc(VALUE klass)
{
	struct robs *ro;

	return TypedData_Make_Struct(klass, struct robs, &robs_type, ro);
}

static struct robs *get_robs(VALUE self)
{
	struct robs *ro;

	TypedData_Get_Struct(self, struct robs, &robs_type, ro);
	if (!ro->o)
		rb_raise(eError, "observer is closed");
	return ro;
}

struct open_args {
	const struct viv_observer_opts *opts;
	struct viv_observer *o;
	int err;
};

static void *open_nogvl(void *arg)
{
	struct open_args *a = arg;

	a->o = viv_observer__open(a->opts);
	a->err = a->o ? 0 : errno;
	return NULL;
}

static void *close_nogvl(void *arg)
{
	viv_observer__close(arg);
	return NULL;
}

/* Native.open(pin_dir, connect, ring_size) -> Observer; raises
 * Vivarium::Error */
static VALUE native_open(VALUE mod, VALUE pin_dir, VALUE connect,
			 VALUE ring_size)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_AUTO };
	struct open_args args = { .opts = &opts };
	const char *how;
	struct robs *ro;
	VALUE obj;

	if (!NIL_P(pin_dir))
		opts.pin_dir = StringValueCStr(pin_dir);
	if (!NIL_P(connect))
		Check_Type(connect, T_SYMBOL);
	how = NIL_P(connect) ? "auto" : rb_id2name(SYM2ID(connect));
	if (!strcmp(how, "daemon"))
		opts.connect = VIV_CONNECT_DAEMON;
	else if (!strcmp(how, "local"))
		opts.connect = VIV_CONNECT_LOCAL;
	else if (strcmp(how, "auto"))
		rb_raise(rb_eArgError, "observe: connect must be :auto, :daemon "
			 "or :local, got :%s", how);
	if (!NIL_P(ring_size))
		opts.ring_size = NUM2UINT(ring_size);

	obj = robs_alloc(cObserver);
	TypedData_Get_Struct(obj, struct robs, &robs_type, ro);
	/* Loading the kernel side takes half a second and touches no Ruby
	 * object: other threads run meanwhile. pin_dir stays alive on our
	 * stack. */
	rb_thread_call_without_gvl(open_nogvl, &args, NULL, NULL);
	RB_GC_GUARD(pin_dir);
	if (!args.o)
		rb_raise(eError, "cannot start observing: %s",
			 viv_errstr(args.err));
	ro->o = args.o;
	ro->pid = getpid();
	ro->lost_seen = viv_observer__lost(ro->o);
	return obj;
}

struct drain_ctx {
	VALUE events;
	const struct viv_event *ev;
	int state;
};

static VALUE field_value(const struct viv_field *f)
{
	const char *s, *end;
	VALUE ary;
	size_t k;

	switch (f->type) {
	case VIV_FIELD_INT:
		return LL2NUM(f->i);
	case VIV_FIELD_STR:
		return rb_utf8_str_new(f->s ? f->s : "", f->s ? f->n : 0);
	case VIV_FIELD_STRS:
		ary = rb_ary_new_capa(f->n);
		s = f->s;
		for (k = 0; s && k < f->n; k++) {
			end = s + strlen(s);
			rb_ary_push(ary, rb_utf8_str_new(s, end - s));
			s = end + 1;
		}
		return ary;
	}
	return Qnil;
}

static void add_field(void *ctx, const struct viv_field *f)
{
	VALUE v = field_value(f);

	if (!NIL_P(v))
		rb_hash_aset((VALUE)ctx, rb_utf8_str_new_cstr(f->name), v);
}

/* Build one Vivarium::Event; under rb_protect(), because the caller is
 * libvivarium, which must not be jumped out of. */
static VALUE build_event(VALUE arg)
{
	struct drain_ctx *dc = (struct drain_ctx *)arg;
	const struct viv_event *ev = dc->ev;
	char buf[PAYLOAD_LEN], *payload = buf;
	const char *name = viv_event__name(ev->kind);
	VALUE fields, str;
	int len;

	len = viv_event__payload(ev, buf, sizeof(buf));
	if (len >= (int)sizeof(buf)) {
		payload = malloc(len + 1);
		if (payload)
			viv_event__payload(ev, payload, len + 1);
		else
			payload = buf;	/* truncated beats nothing */
	}
	str = rb_utf8_str_new_cstr(payload);
	if (payload != buf)
		free(payload);

	fields = rb_hash_new();
	viv_event__fields(ev, add_field, (void *)fields);

	rb_ary_push(dc->events,
		    rb_struct_new(cEvent,
				  rb_utf8_str_new_cstr(name ? name : "unknown"),
				  INT2NUM(ev->kind),
				  rb_utf8_str_new_cstr(viv_severity__name(
					  viv_event__severity(ev->kind))),
				  UINT2NUM(ev->pid), UINT2NUM(ev->tid),
				  UINT2NUM(ev->origin), ULL2NUM(ev->ktime_ns),
				  str, fields, Qnil));
	return Qnil;
}

static int push_event(void *ctx, const struct viv_event *ev)
{
	struct drain_ctx *dc = ctx;

	dc->ev = ev;
	rb_protect(build_event, (VALUE)dc, &dc->state);
	/* On an exception stop here; the caller raises it again. */
	return dc->state != 0;
}

/*
 * observer.drain(all) -> [events, lost]: the calling thread's records
 * (every thread's when @all), and how many records were lost since the
 * last drain: dropped by the kernel (noticed by whichever thread drains
 * first) or dropped while kept for this thread.
 */
static VALUE robs_drain(VALUE self, VALUE all)
{
	struct robs *ro = get_robs(self);
	struct drain_ctx dc = { .events = rb_ary_new() };
	pid_t tid = RTEST(all) ? 0 : thread_tid();
	uint64_t total, lost;
	int n;

	/* A forked child's copy of its parent's ring is not its own. */
	if (getpid() != ro->pid)
		return rb_assoc_new(dc.events, INT2FIX(0));

	n = viv_observer__drain_thread(ro->o, tid, push_event, &dc);
	if (dc.state)
		rb_jump_tag(dc.state);
	if (n < 0)
		rb_raise(eError, "cannot read events: %s", viv_errstr(n));

	total = viv_observer__lost(ro->o);
	lost = total - ro->lost_seen;
	ro->lost_seen = total;
	lost += viv_observer__lost_thread(ro->o, tid);
	return rb_assoc_new(dc.events, ULL2NUM(lost));
}

static VALUE robs_pending_p(VALUE self)
{
	struct robs *ro = get_robs(self);

	return viv_observer__pending_thread(ro->o, thread_tid()) ? Qtrue : Qfalse;
}

static VALUE robs_mode(VALUE self)
{
	return rb_str_new_cstr(viv_observer__mode(get_robs(self)->o));
}

static VALUE robs_id(VALUE self)
{
	return UINT2NUM(viv_observer__id(get_robs(self)->o));
}

static VALUE robs_closed_p(VALUE self)
{
	struct robs *ro;

	TypedData_Get_Struct(self, struct robs, &robs_type, ro);
	return ro->o ? Qfalse : Qtrue;
}

static VALUE robs_close(VALUE self)
{
	struct viv_observer *o;
	struct robs *ro;

	TypedData_Get_Struct(self, struct robs, &robs_type, ro);
	if (!ro->o)
		return Qnil;
	o = ro->o;
	ro->o = NULL;
	if (hook_obs == o)
		hook_obs = NULL;
	/* A local observer detaches the kernel side, which takes a while. */
	rb_thread_call_without_gvl(close_nogvl, o, NULL, NULL);
	return Qnil;
}

/* ---- the hook ----------------------------------------------------------- */

static VALUE call_handler(VALUE arg)
{
	VALUE *args = (VALUE *)arg;

	return rb_funcallv(hook_handler, id_boundary, 3, args);
}

static VALUE event_symbol(rb_event_flag_t flag)
{
	switch (flag) {
	case RUBY_EVENT_CALL:
		return sym_call;
	case RUBY_EVENT_RETURN:
		return sym_return;
	case RUBY_EVENT_C_CALL:
		return sym_c_call;
	default:
		return sym_c_return;
	}
}

static void on_boundary(VALUE tpval, void *data)
{
	rb_trace_arg_t *ta;
	VALUE args[3], err;
	int state = 0;

	if (!hook_obs || hook_forked ||
	    !viv_observer__pending_thread(hook_obs, thread_tid()))
		return;

	ta = rb_tracearg_from_tracepoint(tpval);
	args[0] = event_symbol(rb_tracearg_event_flag(ta));
	args[1] = rb_tracearg_method_id(ta);
	args[2] = rb_tracearg_defined_class(ta);
	rb_protect(call_handler, (VALUE)args, &state);
	if (!state)
		return;

	/*
	 * The handler reports its own failures; this is the last resort for
	 * a StandardError, which never surfaces in observed code. Anything
	 * else (Interrupt, exit, Thread#kill, throw) goes on its way.
	 */
	err = rb_errinfo();
	if (!RB_TYPE_P(err, T_OBJECT) || !rb_obj_is_kind_of(err, rb_eStandardError))
		rb_jump_tag(state);
	rb_set_errinfo(Qnil);
	if (hook_failed)
		return;
	hook_failed = true;
	err = rb_protect(rb_inspect, err, &state);
	if (state) {
		rb_set_errinfo(Qnil);
		err = rb_str_new_cstr("(uninspectable exception)");
	}
	fprintf(stderr, "vivarium: boundary handler failed: %s\n",
		StringValueCStr(err));
}

/* Native.enable_hook(observer, handler): handler.boundary(event,
 * method_id, defined_class) runs when the calling thread's records wait. */
static VALUE native_enable_hook(VALUE mod, VALUE obs, VALUE handler)
{
	struct robs *ro = get_robs(obs);

	hook_handler = handler;
	hook_obs = ro->o;
	hook_forked = false;
	hook_failed = false;
	if (NIL_P(hook_tp))
		hook_tp = rb_tracepoint_new(0, RUBY_EVENT_CALL | RUBY_EVENT_RETURN |
					       RUBY_EVENT_C_CALL |
					       RUBY_EVENT_C_RETURN,
					    on_boundary, NULL);
	rb_tracepoint_enable(hook_tp);
	return Qnil;
}

static VALUE native_disable_hook(VALUE mod)
{
	hook_obs = NULL;
	hook_handler = Qnil;
	if (!NIL_P(hook_tp))
		rb_tracepoint_disable(hook_tp);
	return Qnil;
}

static VALUE native_tid(VALUE mod)
{
	return INT2NUM(thread_tid());
}

/* Native.event_names -> ["path_open", ...] in kind order */
static VALUE native_event_names(VALUE mod)
{
	VALUE ary = rb_ary_new();
	const char *name;
	int kind;

	for (kind = VIV_KIND_NONE + 1; kind < VIV_KIND_MAX; kind++) {
		name = viv_event__name(kind);
		if (name)
			rb_ary_push(ary, rb_str_new_cstr(name));
	}
	return ary;
}

RUBY_FUNC_EXPORTED void Init_vivarium_ext(void)
{
	mVivarium = rb_define_module("Vivarium");
	mNative = rb_define_module_under(mVivarium, "Native");
	if (rb_const_defined(mVivarium, rb_intern("Error")))
		eError = rb_const_get(mVivarium, rb_intern("Error"));
	else
		eError = rb_define_class_under(mVivarium, "Error",
					       rb_eStandardError);

	/* What a formatter gets for each record; comm is filled in by
	 * observer.rb, which knows what each pid executed. */
	cEvent = rb_struct_define_under(mVivarium, "Event", "name", "kind",
					"severity", "pid", "tid", "origin",
					"ktime_ns", "payload", "fields", "comm",
					NULL);

	cObserver = rb_define_class_under(mNative, "Observer", rb_cObject);
	rb_undef_alloc_func(cObserver);
	rb_define_method(cObserver, "drain", robs_drain, 1);
	rb_define_method(cObserver, "pending?", robs_pending_p, 0);
	rb_define_method(cObserver, "mode", robs_mode, 0);
	rb_define_method(cObserver, "id", robs_id, 0);
	rb_define_method(cObserver, "close", robs_close, 0);
	rb_define_method(cObserver, "closed?", robs_closed_p, 0);

	rb_define_module_function(mNative, "open", native_open, 3);
	rb_define_module_function(mNative, "enable_hook", native_enable_hook, 2);
	rb_define_module_function(mNative, "disable_hook", native_disable_hook, 0);
	rb_define_module_function(mNative, "tid", native_tid, 0);
	rb_define_module_function(mNative, "event_names", native_event_names, 0);
	rb_define_const(mNative, "VERSION", rb_str_new_cstr(VIV_VERSION));

	id_boundary = rb_intern("boundary");
	sym_call = ID2SYM(rb_intern("call"));
	sym_return = ID2SYM(rb_intern("return"));
	sym_c_call = ID2SYM(rb_intern("c_call"));
	sym_c_return = ID2SYM(rb_intern("c_return"));
	rb_global_variable(&hook_tp);
	rb_global_variable(&hook_handler);

	pthread_atfork(NULL, NULL, after_fork_child);
}
