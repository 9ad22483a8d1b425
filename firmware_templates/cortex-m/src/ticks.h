/* Free-running 64-bit tick counter at EDGETX_TICK_HZ, for timing inferences. */
#ifndef EDGETX_TICKS_H
#define EDGETX_TICKS_H

#include <stdint.h>

void ticks_init(void);
uint64_t ticks_now(void);

#endif
