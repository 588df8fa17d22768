/*
 * Stack measurement for host runs of the module: the function runs on its
 * own painted stack, and the deepest byte that changed gives the peak.
 */
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "tb_test_platform.h"

#define TEST_STACK_SIZE (256u * 1024u)
#define TEST_STACK_PAINT 0xa5u

/* makecontext() passes only int arguments, so the call goes through
 * these; the measurement is single-threaded like the module. */
static void (*stack_fn)(void *arg);
static void *stack_arg;
static ucontext_t caller_context, measured_context;

static void run_stack_fn(void)
{
	stack_fn(stack_arg);
}

size_t tb_test_run_on_painted_stack(void (*fn)(void *arg), void *arg)
{
	uint8_t *stack = malloc(TEST_STACK_SIZE);
	size_t i;

	if (stack == NULL)
		abort();
	memset(stack, TEST_STACK_PAINT, TEST_STACK_SIZE);
	stack_fn = fn;
	stack_arg = arg;
	getcontext(&measured_context);
	measured_context.uc_stack.ss_sp = stack;
	measured_context.uc_stack.ss_size = TEST_STACK_SIZE;
	measured_context.uc_link = &caller_context;
	makecontext(&measured_context, run_stack_fn, 0);
	swapcontext(&caller_context, &measured_context);

	/* The stack grows down: the lowest changed byte marks the peak. */
	for (i = 0; i < TEST_STACK_SIZE && stack[i] == TEST_STACK_PAINT; i++)
		;
	free(stack);
	return TEST_STACK_SIZE - i;
}
