/* worker/timer_wheel.c - hashed timing wheel. */
#include "timer_wheel.h"

#include <stddef.h>

static void link_after(struct lg_wheel_node *head, struct lg_wheel_node *n)
{
	n->prev = head;
	n->next = head->next;
	head->next->prev = n;
	head->next = n;
}

void lg_wheel_init(struct lg_wheel *w, uint32_t now)
{
	for (int i = 0; i < LG_WHEEL_SLOTS; i++)
		w->slot[i].prev = w->slot[i].next = &w->slot[i];
	w->now = now;
}

int lg_wheel_armed(const struct lg_wheel_node *n)
{
	return n->next != NULL;
}

void lg_wheel_cancel(struct lg_wheel_node *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

void lg_wheel_arm(struct lg_wheel *w, struct lg_wheel_node *n, uint32_t deadline)
{
	lg_wheel_cancel(n);
	if (deadline <= w->now)
		deadline = w->now + 1;
	n->deadline = deadline;
	link_after(&w->slot[deadline % LG_WHEEL_SLOTS], n);
}

void lg_wheel_advance(struct lg_wheel *w, uint32_t now,
                      void (*fire)(struct lg_wheel_node *n, void *arg), void *arg)
{
	/* After a long stall (suspend, a blocked loop) one pass over every slot
	 * covers all the seconds missed. */
	if (now - w->now > LG_WHEEL_SLOTS)
		w->now = now - LG_WHEEL_SLOTS;
	while (w->now < now) {
		struct lg_wheel_node *head = &w->slot[++w->now % LG_WHEEL_SLOTS];
		struct lg_wheel_node due = { &due, &due, 0 };

		/* Move the due nodes out first: fire() may re-arm into this slot. */
		for (struct lg_wheel_node *n = head->next, *next; n != head; n = next) {
			next = n->next;
			if (n->deadline <= now) {
				lg_wheel_cancel(n);
				link_after(&due, n);
			}
		}
		while (due.next != &due) {
			struct lg_wheel_node *n = due.next;
			lg_wheel_cancel(n);
			fire(n, arg);
		}
	}
}
