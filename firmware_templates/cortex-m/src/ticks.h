/* Free-running 64-bit tick counter at EDGETX_TICK_HZ, for timing inferences. */
#ifndef EDGETX_TICKS_H
#define EDGETX_TICKS_H

#include <stdint.h>

void ticks_init(void);
uint64_t ticks_now(void);
/* ticks_now() at the start of a measurement. On an emulated board it first sleeps until the
 * counter wraps, so every measurement starts at the same timer phase and counts the same. */
uint64_t ticks_start(void);

#endif
